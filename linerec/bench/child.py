"""One measured configuration in its own process, so that its peak RSS and one-off costs are its
own: ``python -m linerec.bench.child [--legacy-programs] module:function args.json result.json``.

Configured as a stage (linerec.runtime.configure_stage) before anything imports Paddle; an
export asks for the legacy program format, as stages/export.py does.
"""

import sys


def main(argv):
    legacy = argv[:1] == ["--legacy-programs"]
    if legacy:
        argv = argv[1:]
    from linerec.runtime import configure_stage

    configure_stage(legacy_programs=legacy)

    import importlib
    import json
    import traceback
    from pathlib import Path

    from linerec.bench.measure import volunteer_for_oom_kill

    function, args_file, result_file = argv
    volunteer_for_oom_kill()
    module, name = function.split(":")
    kwargs = json.loads(Path(args_file).read_text(encoding="utf-8"))
    try:
        result = getattr(importlib.import_module(module), name)(**kwargs)
    except Exception as error:  # shown in the section's table rather than ending the run
        traceback.print_exc()
        result = {"error": f"{type(error).__name__}: {error}"}
    Path(result_file).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
