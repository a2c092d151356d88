"""What inspect_ai.log.read_eval_log reports for each sample: the oracle riskreg's reader is tested against."""
import glob, json, os, sys
from inspect_ai.log import read_eval_log
from inspect_ai.log._headline import headline_metric
out = {}
for f in sorted(glob.glob(sys.argv[1] + '/**/*.eval', recursive=True) + glob.glob(sys.argv[1] + '/*.json')):
    log = read_eval_log(f, header_only=True)
    r = headline_metric(log)
    e = log.eval
    summaries = None
    out[os.path.relpath(f, sys.argv[1])] = {
        "status": log.status,
        "eval_id": e.eval_id, "task": e.task, "task_id": e.task_id, "eval_set_id": e.eval_set_id,
        "model": e.model, "tags": sorted(set((e.tags or []) + (log.tags or []))),
        "epochs": e.config.epochs, "epochs_reducer": e.config.epochs_reducer,
        "dataset": e.dataset.name, "dataset_samples": e.dataset.samples,
        "total_samples": log.results.total_samples if log.results else None,
        "completed_samples": log.results.completed_samples if log.results else None,
        "headline": None if r is None else {
            "scorer": r.score.scorer, "score": r.score.name, "reducer": r.score.reducer, "metric": r.name,
            "value": r.metric.value,
            "stderr": r.score.metrics["stderr"].value if "stderr" in r.score.metrics else None},
        "metrics": [] if not log.results else [
            {"scorer": s.scorer, "score": s.name, "reducer": s.reducer, "metric": k, "group": m.group, "value": m.value}
            for s in log.results.scores for k, m in s.metrics.items()],
        "model_usage": {k: v.total_tokens for k, v in log.stats.model_usage.items()},
    }
print(json.dumps(out, indent=1, sort_keys=True))
