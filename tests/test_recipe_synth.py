"""End to end: egs/synth/vc1/run.sh on a tiny corpus, in a copy of the recipe directory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import soundfile as sf

from recipe_copies import REPO, copy_recipe, run_recipe
from vc.data.datadir import DataDir, validate_data_dir
from vc.data.dump import FeatureDump
from vc.evaluate.metrics import METRICS

# Four quick voices: flite_awb -> flite_slt, espeak_f1 an extra target of the multi-target
# systems, fest_kal kept out of training as the one-shot target.
TINY = ["--local_data_opts", "--n_speakers 4 --n_utts 4 --n_eval 2", "--heldout_spks", "fest_kal", "--n_ref", "2",
        "--tgt_spk", "flite_slt", "--extra_tgt_spks", "espeak_f1", "--phones_conf", "conf/phones_tiny.yaml",
        "--nj", "2", "--gl_iters", "8", "--cyclegan_conf", "conf/cyclegan_tiny.yaml",
        "--stargan_conf", "conf/stargan_tiny.yaml", "--disentangle_conf", "conf/disentangle_tiny.yaml"]
TINY_PHONES = """
model: phone_recognizer
model_params: {channels: 8, kernel: 3, dilations: [1], bottleneck: 4, speaker_adversarial: 0.1}
data: {segment_frames: 2000}
train: {max_steps: 2, batch_size: 2, log_interval: 1, eval_interval: 2, save_interval: 2}
"""
TINY_CYCLEGAN = """
model: cyclegan_vc
model_params:
  generator: {channels: 8, down_channels: [16, 16], residual_channels: 16, residual_blocks: 1,
              up_channels: [8, 8], first_kernel: [3, 5], kernel: 3}
  discriminator: {channels: [8, 16], final_kernel: [1, 3]}
data: {segment_frames: 32, short: wrap}
train: {max_steps: 3, batch_size: 2, log_interval: 1, eval_interval: 3, save_interval: 3}
"""
TINY_STARGAN = TINY_CYCLEGAN.replace("cyclegan_vc", "stargan_vc")
TINY_DISENTANGLE = """
model: disentangle
model_params:
  content_encoder: {channels: 16, bank_size: 3, bank_channels: 4, code_dim: 8, factors: [1, 2]}
  reference_encoder: {channels: 16, bank_size: 2, bank_channels: 4, factors: [2]}
  decoder: {channels: 16, factors: [2, 1]}
  classifier: {channels: 16, layers: 2}
  embedding_dim: 8
  classifier_steps: 1
  schedule: {autoencoder: 1, classifier: 1, adversarial: 2, patcher: 0}
data: {segment_frames: 32, short: wrap, normalize: global}
train: {max_steps: 4, batch_size: 2, log_interval: 1, eval_interval: 4, save_interval: 4}
"""


def with_content(conf: str) -> str:
    """A tiny config whose model takes the recogniser of stage 4 as its content model."""
    return conf.replace("model_params:\n", "model_params:\n  lambda_content: 1.0\n", 1) + "content_model: exp/phones\n"


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    """egs/synth/vc1 copied under tmp_path, its vc.sh and utils links pointing at the real recipes/."""
    dest = copy_recipe(tmp_path, "synth/vc1")
    # Every conversion model takes the recogniser of stage 4 as its content model.
    (dest / "conf" / "cyclegan_tiny.yaml").write_text(with_content(TINY_CYCLEGAN))
    (dest / "conf" / "stargan_tiny.yaml").write_text(with_content(TINY_STARGAN))
    (dest / "conf" / "disentangle_tiny.yaml").write_text(with_content(TINY_DISENTANGLE))
    (dest / "conf" / "phones_tiny.yaml").write_text(TINY_PHONES)
    return dest


@pytest.mark.slow
def test_synth_recipe_end_to_end(recipe: Path) -> None:
    done = run_recipe(recipe, *TINY, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("train", "dev", "eval", "heldout"):
        assert validate_data_dir(recipe / "data" / name) == []
    assert len((recipe / "data" / "train" / "utt2spk").read_text().splitlines()) == 3 * (4 - 2)
    assert (recipe / "data" / "heldout" / "spk2utt").read_text().split()[0] == "fest_kal"  # never trained on
    assert (recipe / "data" / "heldout" / "phones").is_file()  # stage 2: every data set phonemized ...
    for name in ("train", "dev", "eval"):  # ... and the phones in each dump
        assert (recipe / "dump" / name / "phones").read_text() == (recipe / "data" / name / "phones").read_text()
    train = FeatureDump.open(recipe / "dump" / "train")
    assert len(train) == 6 and train.config.n_mels == 80
    assert (recipe / "dump" / "train" / "stats.npz").is_file()
    # Stage 3: the source's and every target's eval sentences, copy-synthesised with Griffin-Lim.
    scp = (recipe / "exp" / "copysynth_gl" / "eval" / "wav.scp").read_text().splitlines()
    assert sorted({line.split("_par")[0] for line in scp}) == ["espeak_f1", "fest_kal", "flite_awb", "flite_slt"]
    assert len(scp) == 4 * 2
    for line in scp:
        info = sf.info(line.split(maxsplit=1)[1])
        assert info.samplerate == 16000 and info.frames > 8000
    log = (recipe / "exp" / "copysynth_gl" / "eval" / "log" / "vocode.1.log").read_text()
    assert "# Ended (code 0)" in log
    # Stage 4: the phone recogniser, its dev phone error rate in the log and in the summary.
    assert (recipe / "exp" / "phones" / "checkpoints" / "step_00000002.pt").is_file()
    assert done.stdout.count("phone error rate on dump/dev: ") == 2
    assert json.loads((recipe / "exp/phones/evaluate/dev/summary.json").read_text())["utterances"] == 6
    assert "3 speakers; 6 train, 6 dev (non-parallel), 8 eval (parallel) utterances" in done.stdout
    assert "copy synthesis  Griffin-Lim: mean spectral convergence" in done.stdout

    # Stages 5-8: each system trained, the eval set converted with Griffin-Lim (no ../voc1
    # vocoder is trained here, so --vocoders auto is gl alone) to the target, and by the
    # multi-target systems to the extra target, every conversion and four references per
    # target scored with every metric, and the report written.
    cyclegan = recipe / "exp" / "cyclegan_flite_awb_flite_slt"
    assert (cyclegan / "checkpoints" / "step_00000003.pt").is_file()
    converted = (cyclegan / "convert" / "eval_gl" / "wav.scp").read_text().splitlines()
    assert [line.split()[0] for line in converted] == ["flite_awb_par001", "flite_awb_par002"]
    stargan = recipe / "exp" / "stargan"
    assert (stargan / "checkpoints" / "step_00000003.pt").is_file()
    disentangle = recipe / "exp" / "disentangle"
    assert (disentangle / "checkpoints" / "step_00000004.pt").is_file()
    assert "--ref" in (disentangle / "log" / "convert_eval_oneshot_fest_kal_gl.log").read_text()
    assert (disentangle / "evaluate" / "disentangle" / "summary.json").is_file()

    results = (recipe / "exp" / "results.list").read_text().split()
    references = [f"exp/reference/{name}" for tgt in ("flite_slt", "espeak_f1", "fest_kal") for name in (
        f"source_flite_awb_{tgt}", f"target_{tgt}", f"source_flite_awb_{tgt}_gl", f"target_{tgt}_gl")]
    assert results == references + [
        f"{cyclegan.relative_to(recipe)}/evaluate/eval_gl", "exp/stargan/evaluate/eval_gl",
        "exp/stargan/evaluate/eval_espeak_f1_gl", "exp/disentangle/evaluate/eval_gl",
        "exp/disentangle/evaluate/eval_espeak_f1_gl", "exp/disentangle/evaluate/eval_oneshot_fest_kal_gl"]
    for result in results:
        summary = json.loads((recipe / result / "summary.json").read_text())
        assert set(summary["metrics"]) == {m.key for m in METRICS}, result
        assert summary["metrics"]["mcd_db"]["n"] == 2, result
        assert summary["oneshot"] == ("oneshot" in result), result
    bound = json.loads((recipe / "exp/reference/target_flite_slt_gl/summary.json").read_text())
    assert (bound["kind"], bound["label"], bound["vocoder"]) == ("copysynth-target", "target, Griffin-Lim", "gl")
    assert len(list((recipe / "exp" / "reference" / "cache").glob("resemblyzer_*.npz"))) == 1

    page = (recipe / "exp" / "report" / "index.html").read_text()
    assert page.count("<audio") >= 2 * 7 and "CycleGAN-VC, Griffin-Lim" in page and 'id="targets"' in page
    table = (recipe / "exp" / "report" / "summary.txt").read_text()
    assert table in done.stdout and done.stdout.rstrip().endswith(table.rstrip())
    blocks = table.split("\n\n")
    assert [b.splitlines()[0].split(" (")[0] for b in blocks[:3]] == [
        "flite_awb -> flite_slt", "flite_awb -> espeak_f1", "flite_awb -> fest_kal"]
    rows = [line.split("  ")[1] for line in blocks[0].splitlines()[5:]]  # after the heading and header lines
    assert rows == ["unconverted source, lower bound", "source, Griffin-Lim, vocoder bound",
                    "CycleGAN-VC, Griffin-Lim", "StarGAN-VC, Griffin-Lim", "Disentangle, Griffin-Lim",
                    "target, Griffin-Lim, vocoder bound", "real target, upper bound"]
    assert "StarGAN-VC, Griffin-Lim" in blocks[1] and "CycleGAN-VC" not in blocks[1]
    assert "Disentangle one-shot, Griffin-Lim" in blocks[2]
    header = " ".join(" ".join(blocks[0].splitlines()[1:4]).split())  # titles wrap over header lines
    for title in ("MCD", "F0 RMSE", "Sim. to", "target", "source", "Nearest", "WER", "DNSMOS OVRL"):
        assert title in header, title
    # The targets: three checks for each of the 6 conversions, and the latent probe.
    targets = blocks[3].splitlines()
    assert targets[0] == "Targets (thresholds in vc/report/targets.py)"
    assert sum(line.startswith(("    PASS", "    MISS", "    n/a")) for line in targets) == 6 * 3 + 1
    assert any(line[10:].startswith("CycleGAN-VC, Griffin-Lim: words: WER") for line in targets)
    assert any(line.startswith("  latent probe") for line in targets)
    assert "speaker (one-shot)" in blocks[3] and "targets met" in targets[-1]
    assert "report: exp/report/index.html" in table

    # A stage range reruns only that stage.
    corpus_mtime = (recipe / "corpus" / "corpus.yaml").stat().st_mtime
    again = run_recipe(recipe, *TINY, "--stage", "3", "--stop_stage", "3")
    assert again.returncode == 0, again.stderr
    assert "stage 3" in again.stdout and "stage 2" not in again.stdout and "stage 4" not in again.stdout
    assert (recipe / "corpus" / "corpus.yaml").stat().st_mtime == corpus_mtime

    # --cpu_procs 2: DDP under torchrun (gloo), in an experiment of its own (--tag), through
    # a --train_cmd given on the command line.
    ddp = run_recipe(recipe, *TINY, "--stage", "5", "--stop_stage", "5", "--systems", "cyclegan", "--cpu_procs", "2",
               "--tag", "ddp", "--train_cmd", "utils/run.pl --mem 1G")
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    exp = recipe / "exp" / "cyclegan_flite_awb_flite_slt_ddp"
    assert "# torchrun --standalone --nnodes 1 --nproc_per_node 2 -m vc train" in (exp / "log" / "vc_train.log").read_text()
    assert "(world size 2," in (exp / "log" / "train.log").read_text()
    assert (exp / "checkpoints" / "step_00000003.pt").is_file()


def test_the_demo_speakers_are_corpus_speakers_in_one_role_each() -> None:
    """run.sh's source, targets and held-out speakers: all among the voices its corpus
    synthesizes, each in one role, and the targets trained on (not held out)."""
    from vc.data.synth.voices import SPEAKERS

    text = (REPO / "egs" / "synth" / "vc1" / "run.sh").read_text()
    option = {name: re.search(rf'--{name} ("[^"]*"|\S+)', text).group(1).strip('"').split()
              for name in ("src_spk", "tgt_spk", "extra_tgt_spks", "heldout_spks")}
    n_speakers = int(re.search(r"--n_speakers (\d+)", text).group(1))
    corpus = [spk.id for spk in SPEAKERS[:n_speakers]]
    named = [spk for spks in option.values() for spk in spks]
    assert set(named) <= set(corpus) and len(set(named)) == len(named), option
    assert option["src_spk"] == ["flite_awb"] and option["tgt_spk"] == ["fest_slt"]
    assert option["extra_tgt_spks"] == ["espeak_f1"]


def test_unknown_recipe_option_is_rejected(recipe: Path) -> None:
    done = run_recipe(recipe, "--no_such_option", "1")
    assert done.returncode == 1
    assert "vc.sh: invalid option --no_such_option" in done.stderr
    assert not (recipe / "corpus").exists()


@pytest.mark.parametrize("args, message", [
    (["--num_nodes", "2", "--ngpu", "1"],
     "--num_nodes 2 needs a cluster: set cuda_cmd to 'utils/slurm.pl --gpu N' in cmd.sh"),
    (["--ngpu", "1", "--cpu_procs", "2"], "--cpu_procs is for CPU training (--ngpu 0)"),
    (["--ngpu", "-1"], "--ngpu must be 0 or more, --num_nodes and --cpu_procs 1 or more"),
    (["--conf", "conf/cyclegan_quick.yaml"],
     "--conf takes the config of one system; with --systems \"cyclegan stargan disentangle\" use --<system>_conf"),
    (["--systems", "cyclegan vits"],
     "unknown system 'vits' (cyclegan, stargan, disentangle, cyclegan_stream, disentangle_stream)"),
    (["--extra_tgt_spks", "espeak_m1"], "--tgt_spk/--extra_tgt_spks: espeak_m1 is kept out of training "
                                        "(--heldout_spks); it is a one-shot target already"),
    (["--extra_tgt_spks", "flite_awb"], "--tgt_spk/--extra_tgt_spks: flite_awb is the source speaker"),
    (["--extra_tgt_spks", "fest_slt espeak_f1"], "--extra_tgt_spks: fest_slt is --tgt_spk already"),
    (["--vocoders", "gl hifigan"], "--vocoders: 'hifigan' is neither gl, world, rtisi_la, rtpghi nor a trained "
                                   "vocoder experiment (no hifigan/config.yaml)"),
    (["--phones_conf", "conf/nothing.yaml"],
     "--phones_conf conf/nothing.yaml: not found (a phone recogniser config, or none for no phone recogniser)"),
])
def test_bad_pipeline_options_stop_before_any_stage(recipe: Path, args: list[str], message: str) -> None:
    done = run_recipe(recipe, *args)
    assert done.returncode == 1
    assert done.stderr.strip() == f"./vc.sh: {message}"
    assert not (recipe / "corpus").exists()


def test_derived_voices_of_heldout_speakers_stay_out_of_training(recipe: Path, speech_dir: Path) -> None:
    """local/data.sh stage 1 on a made-up corpus: a WORLD-derived voice of a held-out speaker is the
    same person, so it is held out with it."""
    wavs = DataDir.read(speech_dir).wav_scp
    speakers = ["espeak_f1", "fest_slt", "flite_rms", "wd_flite_rms_f080_wp050"]
    for subset, names in (("nonparallel", ["0001", "0002", "0003"]), ("parallel", ["par001"])):
        utts = {f"{spk}_{n}": spk for spk in speakers for n in names}
        files = list(wavs.values())
        DataDir(wav_scp={u: files[i % len(files)] for i, u in enumerate(sorted(utts))}, utt2spk=utts,
                text={u: "a sentence" for u in utts}).write(recipe / "corpus" / subset)
    done = run_recipe(recipe, "--stage", "1", "--stop_stage", "1", "--heldout_spks", "flite_rms", "--n_dev", "1",
                      script="local/data.sh")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "also holding out wd_flite_rms_f080_wp050 (derived from held-out voices)" in done.stdout
    train = set(DataDir.read(recipe / "data" / "train").utt2spk.values())
    assert train == {"espeak_f1", "fest_slt"}
    assert set(DataDir.read(recipe / "data" / "heldout").utt2spk.values()) == {"flite_rms", "wd_flite_rms_f080_wp050"}
