"""Round-robin timing shared by the decoding benchmarks: every configuration once untimed, then each timed once per
round in turn, so that a drift of the machine's speed hits all of them alike; speed-ups are same-round ratios."""
import statistics, time

def round_robin(calls, repeats):
    "Each of `calls` {name: fn} once untimed (keeping its result), then each once per repeat in turn: {name: (result, [s])}."
    res = {name: (fn(), []) for name, fn in calls.items()}
    for r in range(repeats):
        for name, fn in calls.items():
            t0 = time.perf_counter(); fn(); res[name][1].append(time.perf_counter() - t0)
        print(f"  timed round {r + 1}/{repeats}", flush=True)
    return res

def speedup(secs, base):
    "Median [min, max] of the same-round ratios base / secs, and the fastest time."
    r = sorted(b / t for b, t in zip(base, secs))
    return dict(speedup=statistics.median(r), speedup_min=r[0], speedup_max=r[-1], seconds=min(secs))
