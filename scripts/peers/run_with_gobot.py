"""The peers harness's bench.py with gobot added as one more engine (same file, same runs)."""
import os
import sys

sys.path.insert(0, os.getcwd())
import bench  # noqa: E402  (the harness's own module, in the current directory)

bench.ENGINES.append(("gobot", "base", "bt_gobot.py", {"GOBOT_BIN": os.environ["GOBOT_BIN"]}, 3))
bench.main()
