"""Stands in for `pip install -r requirements.txt`: takes INSTALL_SECONDS, then marks the release installed."""
import os
import pathlib
import sys
import time

if os.environ.get("INSTALL_FAIL"):
    print("ERROR: Could not find a version that satisfies the requirement flask==9.9", file=sys.stderr)
    sys.exit(1)
seconds = float(os.environ.get("INSTALL_SECONDS", "0"))
for _ in range(int(seconds * 10)):
    time.sleep(0.1)
counter = os.environ.get("INSTALL_COUNTER")
if counter:  # tests count finished installs: a retried step must not finish twice
    with open(counter, "a") as f:
        f.write(f"{os.getcwd()}\n")
pathlib.Path(".installed").write_text("ok\n")
print(f"installed into {os.getcwd()} in {seconds}s")
sys.exit(0)
