#!/usr/bin/env python3
"""Reference token ids for adroit-llm's GGUF tokenizer, from independent Python tools.

    python3 benches/llm_tokenizer_reference.py [--model FILE.gguf] [--out FILE]

What it does:

1. Makes sure the `gguf` package (llama.cpp's own GGUF reader, gguf-py) and Hugging Face
   `tokenizers` are importable; if not, creates a virtualenv at
   ${ADROIT_LLM_VENV:-$HOME/.cache/adroit-llm-venv}, installs both from PyPI there and
   re-executes itself with that venv's python.
2. Reads SmolLM2-135M-Instruct.Q4_1.gguf (default
   ${ADROIT_MODELS:-$HOME/.cache/adroit-models}/smollm2-135m-instruct/; .ci/run installs
   it) with gguf.GGUFReader: tokens, merges, token types, bos/eos ids, the pre-tokenizer
   name and the chat template.
3. Builds the tokenizer the way SmolLM2's published tokenizer.json declares it (and
   llama.cpp's `smollm` pre-tokenizer does): byte-level BPE, pre-tokenizer
   Digits(individual_digits=True) then ByteLevel(add_prefix_space=False, use_regex=True),
   ByteLevel decoder, every CONTROL token (type 3) an added special token. The script
   refuses other pre-tokenizers rather than guess.
4. Encodes a fixed list of texts (English, contractions, digits and prices, runs of
   spaces and newlines, accents, Chinese, emoji, and a ChatML prompt with its special
   tokens inline) without adding special tokens, decodes them back, and writes ids,
   round-trip text and the metadata facts to --out (default
   crates/adroit-llm/tests/support/smollm2_tokenizer_reference.json), with the versions
   of the tools used.

The Rust test crates/adroit-llm/tests/local_serve.rs compares its own ids with these.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

TEXTS = [
    "Hello, world!",
    "The campaign's ROAS was 3.75 on $12,500 of spend in Q3 2024.",
    "I don't think they'll like it; we've tried. It's what I'd do.",
    "   leading spaces, trailing spaces   ",
    "line one\nline two\n\n\tindented\r\nwindows line",
    "Café déjà vu: naïve résumé – “quotes” … ½",
    "这个产品质量很好，物流也很快。",
    "Great product 👍🏽🔥 would buy again!!!",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nIs 2+2=4?<|im_end|>\n<|im_start|>assistant\n",
    "x<|im_end|>y<|endoftext|>z",
    "def f(x):\n    return x ** 2  # square",
]


def ensure_tools():
    try:
        import gguf  # noqa: F401
        import tokenizers  # noqa: F401
        return
    except ImportError:
        pass
    venv = pathlib.Path(os.environ.get("ADROIT_LLM_VENV", pathlib.Path.home() / ".cache" / "adroit-llm-venv"))
    py = venv / "bin" / "python"
    if os.environ.get("ADROIT_LLM_REEXEC"):
        sys.exit("gguf / tokenizers still not importable in " + str(venv))
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    subprocess.check_call([str(py), "-m", "pip", "install", "--quiet", "gguf", "tokenizers"])
    env = dict(os.environ, ADROIT_LLM_REEXEC="1")
    os.execve(str(py), [str(py), *sys.argv], env)


def field(reader, key):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def main():
    models = pathlib.Path(os.environ.get("ADROIT_MODELS", pathlib.Path.home() / ".cache" / "adroit-models"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(models / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--out", default=str(ROOT / "crates/adroit-llm/tests/support/smollm2_tokenizer_reference.json"))
    args = ap.parse_args()
    ensure_tools()

    import gguf
    import tokenizers
    from tokenizers import AddedToken, Tokenizer, decoders, models as tmodels, pre_tokenizers

    path = pathlib.Path(args.model)
    if not path.is_file():
        sys.exit(f"{path}: missing; run .ci/run (it installs the model) or pass --model")
    reader = gguf.GGUFReader(str(path))
    kind = field(reader, "tokenizer.ggml.model")
    pre = field(reader, "tokenizer.ggml.pre")
    if kind != "gpt2" or pre != "smollm":
        sys.exit(f"{path}: tokenizer {kind!r} / pre-tokenizer {pre!r}; this script builds gpt2 + smollm only")
    tokens = list(field(reader, "tokenizer.ggml.tokens"))
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    types = list(field(reader, "tokenizer.ggml.token_type"))
    vocab = {}
    for i, t in enumerate(tokens):
        vocab.setdefault(t, i)

    tok = Tokenizer(tmodels.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    control = [AddedToken(t, special=True, normalized=False) for t, ty in zip(tokens, types) if ty == 3]
    tok.add_special_tokens(control)

    cases = []
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=False).ids
        cases.append(
            {
                "text": text,
                "ids": ids,
                "decoded_keep_special": tok.decode(ids, skip_special_tokens=False),
            }
        )
    out = {
        "model_file": path.name,
        "made_by": "benches/llm_tokenizer_reference.py",
        "tools": {"gguf": getattr(gguf, "__version__", "unknown"), "tokenizers": tokenizers.__version__},
        "vocab_size": len(tokens),
        "bos_token_id": int(field(reader, "tokenizer.ggml.bos_token_id")),
        "eos_token_id": int(field(reader, "tokenizer.ggml.eos_token_id")),
        "control_tokens": {t: i for i, (t, ty) in enumerate(zip(tokens, types)) if ty == 3},
        "chat_template": field(reader, "tokenizer.chat_template"),
        "cases": cases,
    }
    dest = pathlib.Path(args.out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {dest}")


if __name__ == "__main__":
    main()
