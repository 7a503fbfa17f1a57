"""The Lambda function's cold start, measured locally: starts
`sluicegate-lambda` RUNS times with a runtime API address nothing listens
on, and reads the `{"message":"init","init_ms":...}` line it logs just
before it first polls for an event. Prints the median and the largest of
`init_ms` (measured inside, from the top of `main`) and of the time from
spawning the process to reading that line (measured outside: exec, loading,
init).

    python3 scripts/lambda_init.py target/release/sluicegate-lambda PIPELINE.toml [RUNS]
"""

import json
import os
import statistics
import subprocess
import sys
import time

binary, pipeline = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
env = {**os.environ, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9", "AWS_LAMBDA_FUNCTION_NAME": "_",
       "AWS_LAMBDA_FUNCTION_VERSION": "1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
       "SLUICEGATE_PIPELINE": pipeline, "SLUICEGATE_OUTPUT": "s3://curated/x/"}
inside, outside = [], []
for _ in range(runs):
    started = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in p.stdout:
        if '"init"' in line:
            outside.append((time.perf_counter() - started) * 1000)
            inside.append(json.loads(line)["init_ms"])
            break
    p.kill()
    p.wait()
if not inside:
    sys.exit("the function logged no init line")
print(f"{runs} runs: init_ms median {statistics.median(inside):.2f}, max {max(inside):.2f}; "
      f"spawn to init line median {statistics.median(outside):.2f} ms, max {max(outside):.2f} ms")
