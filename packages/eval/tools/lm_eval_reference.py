"""Run the real lm-evaluation-harness (0.4.x) with Hugging Face transformers on a model directory, on the task
data in ../shared/data, and write every document's loglikelihoods to JSON. This is how the committed fixture
packages/eval/src/fixtures/lm-eval-stories260K.json was made; it is a developer tool, never run by tests.

    python3 packages/eval/tools/lm_eval_reference.py --model ../shared/models/stories260K-hf \
        --tasks arc_easy,arc_challenge,piqa --max_length 2048 --out packages/eval/src/fixtures/lm-eval-stories260K.json

With the model's own max_length (512 for stories260K) lm-eval aborts on PIQA: two documents have continuations of
618-624 tokens (`assert len(continuation_enc) <= self.max_length`); with max_length >= 657 nothing in ARC or PIQA
is truncated, so every such run gives the same numbers.

The shared data is converted to the Hugging Face schemas the harness's own task YAMLs read, and each task is
registered as a copy of the harness YAML whose dataset_path points at those local files (no network).
"""
import argparse, csv, json, os, pathlib, re, sys, tempfile

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"


def jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def prepare(tmp, limit_rows):
    data = SHARED / "data"
    files = {}
    # ARC: already the HF schema
    for name, rel in [("arc_easy", "arc_easy/ARC-Easy-test.jsonl"), ("arc_challenge", "arc_challenge/ARC-Challenge-test.jsonl")]:
        files[name] = str(data / rel)
    # PIQA: goal, sol1, sol2, label
    rows = [json.loads(l) for l in open(data / "piqa/valid.jsonl", encoding="utf-8") if l.strip()]
    labels = [int(l) for l in open(data / "piqa/valid-labels.lst") if l.strip()]
    jsonl(tmp / "piqa.jsonl", [{**r, "label": y} for r, y in zip(rows, labels)])
    files["piqa"] = str(tmp / "piqa.jsonl")
    # LAMBADA: text
    rows = [json.loads(l) for l in open(data / "lambada_openai/lambada_openai_test.llm-foundry.jsonl", encoding="utf-8") if l.strip()]
    jsonl(tmp / "lambada.jsonl", [{"text": r["context"] + " " + r["continuation"]} for r in rows])
    files["lambada_openai"] = str(tmp / "lambada.jsonl")
    # BoolQ: passage, question, label
    rows = [json.loads(l) for l in open(data / "boolq/boolq_validation.llm-foundry.jsonl", encoding="utf-8") if l.strip()]
    out = []
    for r in rows:
        m = re.match(r"Passage: (.*)\nQuestion: (.*)\?$", r["query"], re.S)
        out.append({"passage": m.group(1), "question": m.group(2), "label": r["gold"]})
    jsonl(tmp / "boolq.jsonl", out)
    files["boolq"] = str(tmp / "boolq.jsonl")
    # TruthfulQA: {question, mc1_targets: {choices, labels}, mc2_targets: {...}}
    rows = json.load(open(data / "truthfulqa_mc/mc_task.json", encoding="utf-8"))
    conv = lambda t: {"choices": list(t.keys()), "labels": list(t.values())}
    jsonl(tmp / "truthfulqa.jsonl", [{"question": r["question"], "mc1_targets": conv(r["mc1_targets"]), "mc2_targets": conv(r["mc2_targets"])} for r in rows])
    files["truthfulqa_mc1"] = files["truthfulqa_mc2"] = str(tmp / "truthfulqa.jsonl")
    # WinoGrande: HF schema rebuilt from the partial-scoring inputs: sentence = common prefix + "_ " + continuation,
    # options = what follows the common prefix (partial_context/partial_target then give back exactly the inputs)
    rows = [json.loads(l) for l in open(data / "winogrande/winogrande_xl_dev.llm-foundry.jsonl", encoding="utf-8") if l.strip()]
    out = []
    for r in rows:
        a, b = r["context_options"]
        n = len(os.path.commonprefix([a, b]))
        out.append({"sentence": a[:n] + "_ " + r["continuation"], "option1": a[n:], "option2": b[n:], "answer": str(r["gold"] + 1)})
    jsonl(tmp / "winogrande.jsonl", out)
    files["winogrande"] = str(tmp / "winogrande.jsonl")
    # HellaSwag: llama.cpp's text form as an HF row (activity_label, ctx_a = rest of line 1, ctx_b = "", endings);
    # lm-eval's process_docs then sees the same text we do (ctx_b's capitalisation is lost in this data)
    lines = open(data / "hellaswag/hellaswag_val_full.txt", encoding="utf-8").read().split("\n")
    out = []
    for i in range(0, len(lines) - 5, 6):
        label, _, ctx = lines[i].partition(": ")
        out.append({"activity_label": label, "ctx_a": ctx, "ctx_b": "", "endings": lines[i + 2:i + 6], "label": lines[i + 1]})
    jsonl(tmp / "hellaswag.jsonl", out)
    files["hellaswag"] = str(tmp / "hellaswag.jsonl")
    # WikiText: pages as EleutherAI/wikitext_document_level builds them
    lines = open(data / "wikitext2/wiki.test.raw", encoding="utf-8").read().split("\n")
    pages, ret = [], []
    for line in lines:
        rline = line.replace("= = =", "===").replace("= =", "==").strip()
        if rline.startswith("= ") and rline.strip().endswith(" ="):
            page = "\n".join(ret)
            if page.strip():
                pages.append(page)
            ret = []
        ret.append(line)
    pages.append("\n".join(ret))
    jsonl(tmp / "wikitext.jsonl", [{"page": p} for p in pages])
    files["wikitext"] = str(tmp / "wikitext.jsonl")
    # MMLU: per subject, test + dev, HF cais/mmlu schema {question, subject, choices, answer}
    for split in ["test", "dev"]:
        for f in sorted((data / "mmlu" / split).glob("*.csv")):
            subject = f.name[: -len(f"_{split}.csv")]
            with open(f, encoding="utf-8") as fh:
                rr = list(csv.reader(fh))[1:]
            jsonl(tmp / f"mmlu_{subject}_{split}.jsonl", [{"question": r[0], "subject": subject, "choices": r[1:5], "answer": int(r[5])} for r in rr])
    return files


def task_yaml(name, src, data_file, lm_eval_dir):
    """The harness's own YAML for `name`, with dataset_path replaced by the local json file."""
    import yaml
    text = (lm_eval_dir / "tasks" / src).read_text()
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tasks", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--num_fewshot", type=int, default=None)
    ap.add_argument("--batch_size", type=int, default=16)
    ap.add_argument("--max_length", type=int, default=None, help="HFLM max_length (default: the model config's)")
    args = ap.parse_args()

    import lm_eval, transformers
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager
    from lm_eval.models.huggingface import HFLM

    lm_dir = pathlib.Path(lm_eval.__file__).parent
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="lmeval-ref-"))
    files = prepare(tmp, args.limit)
    inc = tmp / "tasks"
    inc.mkdir()
    tasks = args.tasks.split(",")
    # local copies of the harness YAMLs: same fields, dataset from json files
    def write(name, src_rel, data_files, extra=""):
        src = (lm_dir / "tasks" / src_rel).read_text()
        src = re.sub(r"^task: .*$", f"task: local_{name}", src, flags=re.M)
        src = re.sub(r"^(tag|group):\n(  - .*\n)+", "", src, flags=re.M)
        src = re.sub(r"^dataset_path: .*$", "dataset_path: json", src, flags=re.M)
        src = re.sub(r"^dataset_name: .*$", "dataset_name: null", src, flags=re.M)
        src = re.sub(r"^include: .*$", "", src, flags=re.M)
        src += "\ndataset_kwargs:\n  data_files:\n" + "".join(f"    {k}: {v}\n" for k, v in data_files.items()) + extra
        (inc / f"local_{name}.yaml").write_text(src)
        # utils modules referenced by !function
        for py in (lm_dir / "tasks" / pathlib.Path(src_rel).parent).glob("*.py"):
            (inc / py.name).write_text(py.read_text())

    names = []
    for t in tasks:
        if t in ("arc_easy", "arc_challenge"):
            write(t, "arc/arc_easy.yaml", {"test": files[t]}, "training_split: null\nvalidation_split: null\n")
        elif t == "piqa":
            write(t, "piqa/piqa.yaml", {"validation": files[t]}, "training_split: null\n")
        elif t == "lambada_openai":
            write(t, "lambada/lambada_openai.yaml", {"test": files[t]})
        elif t == "boolq":
            write(t, "super_glue/boolq/default.yaml", {"validation": files[t]}, "training_split: null\n")
        elif t in ("truthfulqa_mc1", "truthfulqa_mc2"):
            src = (lm_dir / "tasks/truthfulqa/truthfulqa_mc1.yaml").read_text()
            if t == "truthfulqa_mc2":
                src = src.replace('doc_to_choice: "{{mc1_targets.choices}}"', 'doc_to_choice: "{{mc2_targets.choices}}"\nprocess_results: !function utils.process_results_mc2')
            src = re.sub(r"^task: .*$", f"task: local_{t}", src, flags=re.M)
            src = re.sub(r"^(tag|group):\n(  - .*\n)+", "", src, flags=re.M)
            src = re.sub(r"^dataset_path: .*$", "dataset_path: json", src, flags=re.M)
            src = re.sub(r"^dataset_name: .*$", "dataset_name: null", src, flags=re.M)
            src += f"\ndataset_kwargs:\n  data_files:\n    validation: {files[t]}\n"
            (inc / f"local_{t}.yaml").write_text(src)
            # only process_results_mc2 is needed; the rest of utils.py imports generation-metric packages
            utils = (lm_dir / "tasks/truthfulqa/utils.py").read_text()
            fn = re.search(r"^def process_results_mc2\(.*?(?=^def |\Z)", utils, flags=re.M | re.S).group(0)
            (inc / "utils.py").write_text("import numpy as np\n\n\n" + fn)
        elif t == "winogrande":
            write(t, "winogrande/default.yaml", {"validation": files[t]}, "training_split: null\n")
        elif t == "hellaswag":
            write(t, "hellaswag/hellaswag.yaml", {"validation": files[t]}, "training_split: null\n")
        elif t == "wikitext":
            write(t, "wikitext/wikitext.yaml", {"test": files[t]}, "training_split: null\nvalidation_split: null\n")
        elif t.startswith("mmlu_"):
            subject = t[len("mmlu_"):]
            src = (lm_dir / "tasks/mmlu/default/_default_template_yaml").read_text()
            src = re.sub(r"^dataset_path: .*$", "dataset_path: json", src, flags=re.M)
            desc = f"The following are multiple choice questions (with answers) about {' '.join(subject.split('_'))}.\\n\\n"
            src += f'\ntask: local_{t}\ndescription: "{desc}"\ndataset_kwargs:\n  data_files:\n    test: {tmp}/mmlu_{subject}_test.jsonl\n    dev: {tmp}/mmlu_{subject}_dev.jsonl\n'
            (inc / f"local_{t}.yaml").write_text(src)
        else:
            sys.exit(f"unsupported task {t}")
        names.append(f"local_{t}")

    lm = HFLM(pretrained=args.model, dtype="float32", device="cpu", batch_size=args.batch_size, max_length=args.max_length)
    res = simple_evaluate(model=lm, tasks=names, task_manager=TaskManager(include_path=str(inc)), limit=args.limit,
                          num_fewshot=args.num_fewshot, log_samples=True, bootstrap_iters=0)
    out = {"lm_eval": lm_eval.__version__ if hasattr(lm_eval, "__version__") else "0.4.x", "transformers": transformers.__version__,
           "model": os.path.relpath(args.model, ROOT), "max_length": lm.max_length, "tasks": {}}
    for name in names:
        t = name[len("local_"):]
        samples = sorted(res["samples"][name], key=lambda s: s["doc_id"])
        metrics = {k.split(",")[0]: v for k, v in res["results"][name].items() if "," in k and "stderr" not in k}
        # a response is [(ll, is_greedy)] for loglikelihood requests and [ll] for rolling ones
        resp = lambda r: (tuple(r[0]) if isinstance(r[0], (list, tuple)) else (r[0], False))
        out["tasks"][t] = {
            "metrics": metrics,
            # one list of per-request loglikelihoods per document, in document order
            "ll": [[round(float(resp(r)[0]), 6) for r in s["resps"]] for s in samples],
            # [document, request] pairs whose continuation was the greedy one (is_greedy); all others were not
            "greedy": [[s["doc_id"], k] for s in samples for k, r in enumerate(s["resps"]) if bool(resp(r)[1])],
            "first_request": [str(a) for a in samples[0]["arguments"][0]] if "arguments" in samples[0] else None,
        }
        assert [s["doc_id"] for s in samples] == list(range(len(samples))) or args.limit
    pathlib.Path(args.out).write_text(json.dumps(out, ensure_ascii=False) + "\n")
    print(json.dumps({t: v["metrics"] for t, v in out["tasks"].items()}, indent=1))


if __name__ == "__main__":
    main()
