"The paper's numbers are generated from results/, the committed data file is current, and the paper compiles."
import json, shutil, subprocess
from pathlib import Path
import pytest
from ease import paper

ROOT = Path(__file__).resolve().parents[1]
RESULTS, NUMBERS = ROOT/'results', ROOT/'paper'/'numbers.json'

def _roundtrip(x): return json.loads(json.dumps(x, ensure_ascii=False))

@pytest.fixture(scope='module')
def generated():
    return _roundtrip(paper.build_numbers(RESULTS))

@pytest.fixture
def results_copy(tmp_path):
    "A copy of results/ without model weights."
    dst = tmp_path/'results'
    shutil.copytree(RESULTS, dst, ignore=shutil.ignore_patterns('*.pt'))
    return dst

def test_committed_numbers_are_current(generated):
    # fails when a result changes and the paper is not rebuilt: run `bash tools/paper.sh` and commit paper/
    committed = json.loads(NUMBERS.read_text())
    assert committed == generated, "paper/numbers.json is stale: run `bash tools/paper.sh` and commit paper/"

def test_changing_a_result_changes_the_paper(results_copy, generated):
    f = results_copy/'paper_protocol'/'standard_llm'/'seed0.json'
    r = json.loads(f.read_text()); r['best']['ppl'] *= 1.5; f.write_text(json.dumps(r))
    g = results_copy/'benchmarks'/'generation.json'
    b = json.loads(g.read_text())
    best = max((x for x in b['rows'] if x['batch'] == 1 and x.get('strategy') == 'self_speculative'), key=lambda x: x['speedup'])
    best['speedup'] = 2.5; g.write_text(json.dumps(b))
    c = json.loads((results_copy/'claims.json').read_text())
    i = next(i for i, x in enumerate(c['claims']) if x['claim'] == 'asymmetric alpha 0.7 beats standard 3L')
    c['claims'][i]['fair']['mean'] += 0.05; c['claims'][i]['fair']['p_holm'] = 0.5; (results_copy/'claims.json').write_text(json.dumps(c))
    f = results_copy/'original_code'/'seed42_reference'/'synthetic_fallback'/'asymmetric.json'
    r = json.loads(f.read_text()); r['best_ppl'] += 1; f.write_text(json.dumps(r))
    N = _roundtrip(paper.write_numbers(results_copy, results_copy/'numbers.json'))
    assert N['v']['std_ppl'] != generated['v']['std_ppl']
    assert N['recipes']['ease'] != generated['recipes']['ease']
    assert N['generation']['v']['best_spec_x'] == '2.50×' != generated['generation']['v']['best_spec_x']
    row = lambda M: next(x for x in M['claims']['fair']['rows'] if x['claim'] == 'asymmetric alpha 0.7 beats standard 3L')
    assert row(N)['diff'] != row(generated)['diff'] and row(N)['p_holm'] == '0.5' != row(generated)['p_holm']
    assert generated['meta']['claims_current']['ease'] and not N['meta']['claims_current']['ease']   # a run changed, claims.json not rerun: flagged
    assert not N['meta']['claims_current']['fair']                                                     # claims.json edited by hand: flagged
    assert N['original_code']['table'] != generated['original_code']['table']
    assert N != json.loads(NUMBERS.read_text())   # the committed file no longer matches: the consistency test would fail

def test_original_loop_pending_partial_available(results_copy, generated):
    expected = int(generated['pending']['protocol_original']['expected'])
    shutil.rmtree(results_copy/'paper_protocol_original', ignore_errors=True)
    N = paper.build_numbers(results_copy)
    assert N['pending']['protocol_original']['status'] == 'pending' and 'original' not in N['settings']
    # runs in the paper_protocol layout plug in: fewer than the sweep expects is "partial", and the paper says how many
    (results_copy/'paper_protocol_original').mkdir()
    shutil.copytree(results_copy/'paper_protocol'/'asymmetric', results_copy/'paper_protocol_original'/'asymmetric')
    shutil.copytree(results_copy/'paper_protocol'/'standard_llm', results_copy/'paper_protocol_original'/'standard_llm')
    N = paper.build_numbers(results_copy)
    assert N['pending']['protocol_original']['status'] == ('partial' if expected > 10 else 'available')
    assert 'original' in N['settings'] and 'original' in N['recipes']
    try: import typst  # noqa: F401
    except ImportError: return
    repo = results_copy.parent/'repo'                  # the paper compiles in each state and says which one it is in
    shutil.copytree(ROOT/'paper', repo/'paper'); (repo/'paper_figures').mkdir()
    paper.write_numbers(results_copy, repo/'paper'/'numbers.json')
    pdf = paper.compile_paper(repo, figures=False)
    if shutil.which('pdftotext'):
        text = subprocess.run(['pdftotext', str(pdf), '-'], capture_output=True, text=True, check=True).stdout
        assert 'In progress (issue 13)' in text and 'original loop' in text

def test_claims_are_claims_json(generated):
    # one home for the statistics: the paper has no Holm or verdict of its own, and prints claims.json's numbers
    assert not hasattr(paper, 'holm') and not hasattr(paper, 'claims_from_runs')
    data = json.loads((RESULTS/'claims.json').read_text())
    for k in data['settings']:
        rows = generated['claims'][k]['rows']
        assert [r['claim'] for r in rows] == [c['claim'] for c in data['claims']]
        for r, c in zip(rows, data['claims']):
            s = c[k]
            if s['n'] >= 2 and s['mean'] is not None:
                assert r['p'] == paper.fmt_p(s['p']) and r['p_holm'] == paper.fmt_p(s['p_holm'])
                assert r['verdict'] == s['verdict'] + (' †' if s['needs_more_seeds'] else '')
    # claims.json is what ease.results.assess_claims gives on the runs; a setting whose runs moved on is flagged in the paper
    cur = generated['meta']['claims_current']
    assert set(cur) == set(data['settings'])
    assert generated['meta']['claims_json_agrees'] == all(cur.values())
    assert cur['ease'] and cur['fair'], 'results/claims.json is stale: rerun nbs/17_claims.ipynb'

def test_original_code_numbers(generated):
    v = generated['original_code']['v']
    assert v['implied_vocab'] == v['syn_vocab'] and v['implied_is_fallback'] == 'true'
    assert v['init_max_diff'] == '0' and v['same_stop'] == v['compared']

def test_typst_source_has_no_swallowed_semicolons():
    # Typst ends an embedded expression at `;` and drops it: "#V.x; more" prints "8.55 more". Write "#V.x\;" in the source.
    import re
    src = (ROOT/'paper'/'ease.typ').read_text()
    body = src[src.index('#align(center)'):]
    assert re.findall(r'#[A-Za-z_][A-Za-z0-9_.]*(?:\([^()]*\))?;', body) == []

def test_paper_compiles_and_every_number_is_traced(tmp_path, generated):
    typst = pytest.importorskip('typst', reason='the typst package is not installed (pip install typst): paper not compiled')
    pdf = paper.compile_paper(ROOT, tmp_path/'ease.pdf')
    assert pdf.stat().st_size > 100_000
    if shutil.which('pdftotext') is None: pytest.skip('pdftotext (poppler-utils) not installed: compiled, numbers not traced')
    nofig = paper.compile_paper(ROOT, tmp_path/'nofig.pdf', figures=False)
    text = subprocess.run(['pdftotext', str(nofig), '-'], capture_output=True, text=True, check=True).stdout
    assert 'Pending (issue' in text or all(p['status'] == 'available' for p in generated['pending'].values())
    assert ('Warning:' in text) == (not generated['meta']['claims_json_agrees'])   # a stale claims.json is never silent
    assert '??' not in text                    # unresolved references
    assert paper.untraced_numbers(paper.paper_text(text), generated) == []
    if shutil.which('pdfinfo'):
        pages = int(next(l.split()[-1] for l in subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True).stdout.splitlines() if l.startswith('Pages')))
        assert 9 <= pages <= 16, pages
