"""gobot's in-memory engine as one more engine of the peers harness (../shared/bench/peers).

It runs `gobot bench --data FILE --skip-charts`, which parses the file and replays it through
gobot's own engine: its rules analyst every 5 simulated minutes, the full risk gate, Kelly size
capped at $10, fees, slippage, stop and target on each 1m candle. That is not the peers'
EMA(9)/EMA(21) cross, so trades and equity differ; the time is for the same candles.
"""
import json
import os
import re
import subprocess
import sys

exe = os.environ["GOBOT_BIN"]
data = os.environ["PEERS_DATA"]
version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip() or "?"
p = subprocess.run([exe, "bench", "--data", data, "--skip-charts"], capture_output=True, text=True)
if p.returncode != 0:
    sys.stderr.write(p.stdout + p.stderr)
    sys.exit(p.returncode)
out = p.stdout
csv = re.search(r"csv: .*?: (\d+) rows, .*? parsed in ([\d.]+) s", out)
eng = re.search(r"engine: (\d+) candles in ([\d.]+) s .*?, (\d+) trades \((\d+) won\), net (-?[\d.]+) USD", out)
if not csv or not eng:
    sys.stderr.write("unexpected gobot bench output:\n" + out)
    sys.exit(1)
trades, wins = int(eng.group(3)), int(eng.group(4))
cash = 100.0
print("RESULT " + json.dumps({
    "engine": "gobot", "version": version, "candles": int(eng.group(1)), "trades": trades, "wins": wins,
    "win_rate": wins / trades if trades else 0.0, "final_equity": cash + float(eng.group(5)), "cash": cash,
    "load_s": float(csv.group(2)), "engine_s": float(eng.group(2)),
    "inproc_total_s": float(csv.group(2)) + float(eng.group(2)),
    "strategy": "gobot rules analyst every 5 min, risk gate, $10 cap (not the EMA cross)",
}))
