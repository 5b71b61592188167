"""DVCLive logging that survives a resume: rows logged after the checkpoint being resumed from
would otherwise be logged twice, so they are trimmed first."""

import csv
import io
from pathlib import Path


def trim_plots_after(live_dir, step):
    for path in Path(live_dir, "plots", "metrics").rglob("*.tsv"):
        rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t"))
        kept = [row for row in rows if int(float(row["step"])) <= step]
        if len(kept) == len(rows):
            continue
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(kept)
        path.write_text(out.getvalue(), encoding="utf-8")


def open_live(live_dir, resume_step=0):
    from dvclive import Live

    if resume_step > 0:
        trim_plots_after(live_dir, resume_step)
    # dvc.yaml declares the metrics and plots itself; DVCLive only writes the files.
    return Live(dir=str(live_dir), resume=resume_step > 0, save_dvc_exp=False, dvcyaml=None)
