"""Fault injection against the `ease` command: bad inputs, garbled state, locks, divergence and kills.

    python tests/test_reliability.py        # prints the table and writes results/reliability.md

Every case runs the real command in a subprocess (small runs: 1-2 epochs of the original protocol's data) and
says what it expects: a bad input is one line `ease: error: ...` with status 2 and no training; a garbled or
foreign state file is named, moved aside or refused with the fix; nothing is silently accepted, mixed or lost.
"""
import json, os, random, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')

def ease(*args, timeout=600):
    "Run `python -m ease ARGS`; (returncode, stdout, stderr)."
    p = subprocess.run([sys.executable, '-m', 'ease', *map(str, args)], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=timeout)
    return p.returncode, p.stdout, p.stderr

def one_line_error(rc, err, needle):
    "Status 2, no traceback, and `needle` in an `error:` line."
    return rc == 2 and 'Traceback' not in err and any('error:' in l and needle in l for l in err.splitlines())

TRAIN = ('train', '--preset', 'asymmetric', '--seed', '0', '--epochs', '1')

def case_bad_inputs(d):
    rows = []
    for args, needle in [(['--exit-layer', '0'], 'exit-layer must be a whole number >= 1'), (['--lr', 'nan'], 'lr must be a finite number > 0'),
                         (['--lr', 'inf'], 'lr must be a finite number > 0'), (['--lr', '-1'], 'lr must be'), (['--patience', '-2'], 'patience must be'),
                         (['--seed', '-1'], 'seed must be'), (['--threshold', '1.5'], 'threshold must be a finite number in [0, 1]'),
                         (['--batch-size', '0'], 'batch-size must be'), (['--alpha', '2'], 'alpha must be'),
                         (['--model', 'char-6L-256', '--exit-layer', '9'], 'exit_layer must be in 1..5'),
                         (['--grad-accum', '3'], 'batch-size 32 is not divisible by grad-accum 3'), (['--data-dir', '/nonexistent/corpus'], 'is not a folder'),
                         (['--threads', '0'], 'must be a whole number >= 1')]:
        rc, out, err = ease(*TRAIN, *args, '--out', d/'bad')
        rows.append((f"train {' '.join(args)}", 'one-line error, status 2', one_line_error(rc, err, needle), err.strip().splitlines()[-1:]))
    for args, needle in [(['--workers', '-3'], 'must be a whole number >= 1'), (['--seeds', 'a-b'], 'is not a list of seeds'),
                         (['--seeds', '0-1-2'], 'is not a list of seeds'), (['--seeds', '3-1'], 'is empty')]:
        rc, out, err = ease('sweep', '--presets', 'asymmetric', '--epochs', '1', *args, '--out', d/'bad')
        rows.append((f"sweep {' '.join(args)}", 'one-line error, status 2', one_line_error(rc, err, needle), err.strip().splitlines()[-1:]))
    (d/'afile').write_text('x')
    rc, out, err = ease(*TRAIN, '--out', d/'afile')
    rows.append(('train --out <a file>', 'one-line error before training', one_line_error(rc, err, 'is a file'), err.strip().splitlines()[-1:]))
    assert not list(d.rglob('*.json')) and not list(d.rglob('*.ckpt.*')), 'a bad input left state behind'
    return rows

def case_state(d):
    rows, out = [], d/'runs'
    rc, o, e = ease(*TRAIN, '--out', out); res = out/'asymmetric'/'seed0.json'
    ref = json.loads(res.read_text())
    rows.append(('train, fresh', 'result written', rc == 0 and ref['status'] == 'finished', o.strip()[-60:]))
    rc, o, e = ease(*TRAIN[:-1], '2', '--out', out)
    rows.append(('train again with other settings', 'refused (other settings named)', one_line_error(rc, e, 'max_epochs: 1 there, 2 now')
                 and json.loads(res.read_text())['identity'] == ref['identity'], e.strip()[-80:]))
    rc, o, e = ease(*TRAIN[:-1], '2', '--out', out, '--overwrite')
    rows.append(('... with --overwrite', 'replaced', rc == 0 and json.loads(res.read_text())['epochs_run'] == 2, ''))
    # a garbled result in a sweep folder: moved aside, run again
    res.write_text(res.read_text()[:200])
    rc, o, e = ease('sweep', '--presets', 'asymmetric', '--seeds', '0', '--epochs', '2', '--workers', '1', '--out', out)
    rows.append(('truncated result JSON, sweep', 'moved aside, rerun', rc == 0 and (res.parent/'seed0.json.corrupt').exists()
                 and json.loads(res.read_text())['epochs_run'] == 2 and 'seed0.json was unreadable' in e, ''))
    # garbled checkpoints: truncated, empty, random bytes
    for kind in ('truncated', 'empty', 'random'):
        sub = d/f"ck_{kind}"; rc, o, e = ease(*TRAIN, '--out', sub)
        p = sub/'asymmetric'/'seed0.json'; ident = json.loads(p.read_text())['identity']; p.unlink()
        ck = sub/'asymmetric'/f"seed0.{ident}.ckpt.pt"
        torch_bytes = ROOT.joinpath('results', 'generation_model', 'model.pt').read_bytes()[:4000]
        ck.write_bytes({'truncated': torch_bytes, 'empty': b'', 'random': os.urandom(4000)}[kind])
        rc, o, e = ease(*TRAIN, '--out', sub)
        rows.append((f"{kind} checkpoint", 'named, moved aside, run again', rc == 0 and p.exists() and ck.with_name(ck.name + '.corrupt').exists()
                     and str(ck) in e, e.strip().splitlines()[:1]))
    # a checkpoint of the same run under other settings (batch size): refused, --restart starts fresh
    sub = d/'ck_other'; (sub/'asymmetric').mkdir(parents=True)
    (sub/'asymmetric'/'seed0.0123456789abcdef.ckpt.pt').write_bytes(b'x')
    spec = json.loads(res.read_text())['spec'] | dict(batch_size=16)
    (sub/'asymmetric'/'seed0.0123456789abcdef.ckpt.spec').write_text(json.dumps(dict(spec=spec)))
    rc, o, e = ease(*TRAIN, '--out', sub)
    rows.append(('checkpoint of other settings', 'resume refused, says what differs', one_line_error(rc, e, 'batch_size: 16 there, 32 now')
                 and '--restart' in e, e.strip()[-90:]))
    rc, o, e = ease(*TRAIN, '--out', sub, '--restart')
    rows.append(('... with --restart', 'fresh run, old checkpoint gone', rc == 0 and not list((sub/'asymmetric').glob('*.ckpt.*')), ''))
    # leftovers of a killed writer are cleaned on the next start
    sub = d/'leftover'; (sub/'asymmetric').mkdir(parents=True); (sub/'asymmetric'/'.seed0.json.k1l2.tmp').write_text('{"par')
    rc, o, e = ease(*TRAIN, '--out', sub)
    rows.append(('leftover temporary JSON', 'removed on the next start', rc == 0 and not list((sub/'asymmetric').glob('.*.tmp')), ''))
    rows.append(('result file mode', '0644 like the checkpoints', (res.stat().st_mode & 0o777) == (0o666 & ~_umask()), oct(res.stat().st_mode & 0o777)))
    return rows

def _umask():
    m = os.umask(0); os.umask(m); return m

def case_locks_and_duplicates(d):
    rows, out = [], d/'locks'
    (out/'asymmetric').mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    lock = out/'asymmetric'/'seed0.lock'
    lock.write_text(json.dumps(dict(pid=holder.pid, host=socket.gethostname(), started='now')))
    rc, o, e = ease(*TRAIN, '--out', out)
    rows.append(('run locked by a live process', 'refused, holder named', one_line_error(rc, e, f'process {holder.pid}'), e.strip()[-80:]))
    holder.kill(); holder.wait()
    rc, o, e = ease(*TRAIN, '--out', out)
    rows.append(('stale lock (holder gone)', 'taken over, run trained', rc == 0 and not lock.exists(), ''))
    rc, o, e = ease('sweep', '--presets', 'asymmetric', 'asymmetric', '--seeds', '1,1', '--epochs', '1', '--workers', '1', '--out', out)
    rows.append(('sweep asymmetric asymmetric --seeds 1,1', 'one run trained, repeats dropped with a note',
                 rc == 0 and '1 trained now' in o and '3 repeated run(s) dropped' in e, o.strip()[-50:]))
    rc, o, e = ease('sweep', '--presets', 'asymmetric', '--seeds', '1', '--epochs', '2', '--workers', '1', '--out', out)
    rows.append(('same sweep, other settings', 'refused, not reported as done', one_line_error(rc, e, 'max_epochs: 1 there, 2 now'), ''))
    return rows

def case_divergence(d):
    rows, out = [], d/'div'
    for lr in ('10', '1e6'):
        rc, o, e = ease(*TRAIN, '--lr', lr, '--out', out/lr)
        p = out/lr/'asymmetric'/'seed0.json'
        r = json.loads(p.read_text()) if p.exists() else {}
        rows.append((f"train --lr {lr}", 'stops cleanly, status 1, JSON marked diverged', rc == 1 and 'Traceback' not in e
                     and r.get('status') == 'diverged' and 'diverged' in e, e.strip()[-100:]))
        rc, o, e = ease('sweep', '--presets', 'asymmetric', '--seeds', '0', '--epochs', '1', '--lr', lr, '--workers', '1', '--out', out/lr)
        rows.append((f"sweep over the diverged run (lr {lr})", 'not retried', rc == 0 and '0 trained now' in o, o.strip()[-40:]))
    return rows

def fault_matrix() -> list[tuple]:
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        return case_bad_inputs(d) + case_state(d) + case_locks_and_duplicates(d) + case_divergence(d)

def table(rows) -> str:
    lines = ['| case | expected | ok | what the command said |', '|---|---|---|---|']
    lines += [f"| {c} | {x} | {'yes' if ok else '**NO**'} | {' '.join(map(str, s)) if isinstance(s, list) else s} |".replace('\n', ' ') for c, x, ok, s in rows]
    return '\n'.join(lines)

def test_fault_matrix():
    rows = fault_matrix()
    print(table(rows))
    assert all(ok for _, _, ok, _ in rows), table([r for r in rows if not r[2]])

def _results(out: Path) -> dict:
    "Per run, the numbers a result reports (times and dates left out)."
    keep = lambda r: dict(best=r['best'], history=[{k: v for k, v in h.items() if k != 'time'} for h in r['history']],
                          best_epoch=r['best_epoch'], step_loss=r['step_loss'], identity=r['identity'])
    return {str(p.relative_to(out)): keep(json.loads(p.read_text())) for p in sorted(out.glob('*/seed*.json'))}

def test_sweep_survives_kills(tmp_path):
    "A small sweep killed (SIGKILL, whole process group) at random moments, at least 5 times, ends identical to an uninterrupted one."
    args = ['sweep', '--presets', 'standard_llm', 'asymmetric', '--seeds', '0,1', '--epochs', '2', '--patience', '5', '--workers', '2']
    rc, o, e = ease(*args, '--out', tmp_path/'ref'); assert rc == 0, e
    out, rng, kills = tmp_path/'killed', random.Random(0), 0
    while kills < 5 or not len(list(out.glob('*/seed*.json'))) == 4:
        p = subprocess.Popen([sys.executable, '-m', 'ease', *args, '--out', str(out)], env=ENV, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if kills < 5:
            time.sleep(rng.uniform(2.0, 9.0))
            if p.poll() is None: os.killpg(p.pid, signal.SIGKILL); kills += 1
        p.wait()
        assert kills < 50
    assert kills >= 5
    assert _results(out) == _results(tmp_path/'ref')
    assert not list(out.rglob('*.lock')) and not list(out.rglob('*.tmp')) and not list(out.rglob('*.ckpt.*'))

if __name__ == '__main__':
    rows = fault_matrix()
    md = f"### Fault injection against `ease` ({sum(r[2] for r in rows)} of {len(rows)} handled as expected)\n\n" + table(rows) + \
         "\n\nMade by `python tests/test_reliability.py`.\n"
    (ROOT/'results'/'reliability.md').write_text(md); print(md)
