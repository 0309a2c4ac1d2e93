#!/usr/bin/env bash
# Trains lmc's reference models from ../shared/data with lmc itself and installs them under models/:
#   1. splits the general English corpus (documents shuffled with seed 1: 80% train, 5% validation,
#      15% test), the same split recipes/default_model.yaml makes;
#   2. trains a 4096-piece lossless SentencePiece tokenizer on the train documents only;
#   3. trains the default model (recipes/default_model.yaml, then recipes/default_model_stage2.yaml from
#      the first stage's best checkpoint) and copies the second stage's best checkpoint to models/default/;
#   4. trains the medical, legal and speech LoRA adapters on it (recipes/default_lora_*.yaml; medical and
#      legal then continue in stages, recipes/default_lora_<domain>_stageN.yaml: medical to 4, legal to 6)
#      and copies each domain's last best adapter to models/adapters/<domain>/;
#   5. trains the byte-level audio model (recipes/audio_model.yaml, then recipes/audio_model_stage2.yaml,
#      _stage3.yaml and _stage4.yaml, each from the previous stage's best checkpoint) and copies the fourth
#      stage's best checkpoint to models/audio/.
# Usage, from the repository root after scripts/setup.sh: bench/train_reference_models.sh [BUILD_DIR]
# About twelve hours on two CPU cores (the runs' measured times added up; several of them
# shared the CPU). Runs go to runs/ (ignored by git); a run that finished is skipped and an interrupted
# one resumes, so the script can simply be run again.
set -euo pipefail
cd "$(dirname "$0")/.."
lmc="${1:-build}/lmc"
python="${LMC_VENV:-$HOME/.cache/lmc/venv}/bin/python"
mkdir -p runs models/adapters

if [[ ! -f runs/default_tok/tokenizer.model ]]; then
  "$lmc" prepare --inputs ../shared/data/text/general --modality text --train-bytes 0.8 --val-bytes 0.05 \
    --seed 1 --out runs/general_split
  mapfile -t train_docs < <("$python" -c "import h5py, sys
names = h5py.File('runs/general_split/train.h5')['doc_names'][:]
print('\n'.join(sorted({n.decode() if isinstance(n, bytes) else n for n in names})))")
  mkdir -p runs/default_tok
  "$lmc" tokenizer train --vocab-size 4096 --out runs/default_tok/tokenizer.model --input "${train_docs[@]}"
fi

train() {  # recipe, run directory
  if [[ -f "$2/finished" ]]; then return; fi
  if compgen -G "$2/step_*" > /dev/null; then "$lmc" train "$1" --resume; else "$lmc" train "$1"; fi
  touch "$2/finished"
}

install() {  # run directory, destination: the best weights, without optimizer state, and the metrics
  rm -rf "$2.tmp" && mkdir -p "$2.tmp"
  for f in "$1"/best/*; do
    case "$(basename "$f")" in trainer_state.*|best.json) ;; *) cp "$f" "$2.tmp/" ;; esac
  done
  cp "$1/metrics.jsonl" "$2.tmp/"
  rm -rf "$2" && mv "$2.tmp" "$2"
}

train recipes/default_model.yaml runs/default_model
train recipes/default_model_stage2.yaml runs/default_model_stage2
install runs/default_model_stage2 models/default
cp runs/default_model/metrics.jsonl models/default/metrics_stage1.jsonl
for domain in medical legal speech; do
  train "recipes/default_lora_$domain.yaml" "runs/lora_$domain"
  install "runs/lora_$domain" "models/adapters/$domain"
done
for domain in medical legal; do  # later stages (recipes/default_lora_<domain>_stageN.yaml), each from the last
  runs=("runs/lora_$domain")
  for recipe in recipes/default_lora_"$domain"_stage?.yaml; do
    stage="${recipe##*_stage}"
    runs+=("runs/lora_${domain}_stage${stage%.yaml}")
    train "$recipe" "${runs[-1]}"
  done
  install "${runs[-1]}" "models/adapters/$domain"
  for ((i = 0; i + 1 < ${#runs[@]}; i++)); do
    cp "${runs[i]}/metrics.jsonl" "models/adapters/$domain/metrics_stage$((i + 1)).jsonl"
  done
done
train recipes/audio_model.yaml runs/audio_model
train recipes/audio_model_stage2.yaml runs/audio_model_stage2
train recipes/audio_model_stage3.yaml runs/audio_model_stage3
train recipes/audio_model_stage4.yaml runs/audio_model_stage4
install runs/audio_model_stage4 models/audio
cp runs/audio_model/metrics.jsonl models/audio/metrics_stage1.jsonl
cp runs/audio_model_stage2/metrics.jsonl models/audio/metrics_stage2.jsonl
cp runs/audio_model_stage3/metrics.jsonl models/audio/metrics_stage3.jsonl
