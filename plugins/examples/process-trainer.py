#!/usr/bin/env python3
"""A trainer in plain Python, speaking nasnet's process protocol 1 (README, "Trainers in any
language"): nasnet search --trainer process --trainer-command "python3 plugins/examples/process-trainer.py".
It scores a cell by its share of separable convolutions instead of training it: put yours here."""
import json, sys, time

def say(**line):
    print(json.dumps(line), flush=True)  # stdout carries protocol lines only; log to stderr

say(hello={"protocol": 1, "name": "sep-conv-share", "backend": "python", "device": "CPU", "jobs": "many"})
for line in sys.stdin:
    job, started = json.loads(line)["job"], time.time()
    ops = [op for block in job["genotype"]["normal"] for op in (block[0], block[2])]
    for epoch in range(1, job["epochs"] + 1):
        say(progress={"epoch": epoch, "epochs": job["epochs"], "metrics": {"loss": 1 / epoch}})
    score = sum(op.startswith("sep_conv") for op in ops) / len(ops)
    say(result={"validationAccuracy": score, "testAccuracy": None, "loss": 0.0,
                "params": job["params"], "multAdds": job["multAdds"], "seconds": time.time() - started,
                "imagesPerSec": 0, "backend": "python", "device": "CPU"})
