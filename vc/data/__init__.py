"""Data: Kaldi data dirs, feature dumps, the offline synthetic corpus."""
