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
    f = results_copy/'fair'/'char3L'/'asymmetric'/'seed0.json'
    r = json.loads(f.read_text()); r['best']['ppl'] *= 1.1; f.write_text(json.dumps(r))
    N = _roundtrip(paper.write_numbers(results_copy, results_copy/'numbers.json'))
    assert N['v']['std_ppl'] != generated['v']['std_ppl']
    assert N['recipes']['ease'] != generated['recipes']['ease']
    assert N['generation']['v']['best_spec_x'] == '2.50×' != generated['generation']['v']['best_spec_x']
    row = lambda M: next(x for x in M['claims']['fair']['rows'] if x['claim'] == 'asymmetric alpha 0.7 beats standard 3L')
    assert row(N)['diff'] != row(generated)['diff'] and row(N)['p'] != row(generated)['p']
    assert generated['meta']['claims_json_agrees'] and not N['meta']['claims_json_agrees']   # claims.json not rerun: flagged
    assert N != json.loads(NUMBERS.read_text())   # the committed file no longer matches: the consistency test would fail

def test_pending_until_results_arrive(results_copy, generated):
    assert ('original' in generated['claims']) == (generated['pending']['protocol_original']['status'] == 'available')
    # issue 13's rerun plugs in: a folder of runs in the paper_protocol layout adds the original-protocol claims table
    shutil.copytree(results_copy/'paper_protocol', results_copy/paper.PENDING['protocol_original']['path'], dirs_exist_ok=True)
    N = paper.build_numbers(results_copy)
    assert N['pending']['protocol_original']['status'] == 'available'
    assert [r['diff'] for r in N['claims']['original']['rows']] == [r['diff'] for r in N['claims']['ease']['rows']]
    try: import typst  # noqa: F401
    except ImportError: return
    repo = results_copy.parent/'repo'                  # the paper renders the new table instead of the pending note
    shutil.copytree(ROOT/'paper', repo/'paper'); (repo/'paper_figures').mkdir()
    paper.write_numbers(results_copy, repo/'paper'/'numbers.json')
    pdf = paper.compile_paper(repo, figures=False)
    if shutil.which('pdftotext'):
        text = subprocess.run(['pdftotext', str(pdf), '-'], capture_output=True, text=True, check=True).stdout
        assert 'exact original loop' in text and 'Results available (issue 13)' in text

def test_claims_recomputed_from_runs_match_claims_json():
    df = paper.load_runs(RESULTS/'paper_protocol')
    recs = json.loads((RESULTS/'claims.json').read_text())
    again = paper.claims_from_runs(df, recs)
    for r in recs:
        assert again[r['claim']]['verdict'] == r['original']['verdict']
        assert again[r['claim']]['mean'] == pytest.approx(r['original']['mean'], abs=1e-9)

def test_typst_source_has_no_swallowed_semicolons():
    # Typst ends an embedded expression at `;` and drops it: "#V.x; more" prints "8.55 more". Write "#V.x\;" in the source.
    import re
    src = (ROOT/'paper'/'ease.typ').read_text()
    body = src[src.index('#align(center)'):]
    assert re.findall(r'#[A-Za-z_][A-Za-z0-9_.]*(?:\([^()]*\))?;', body) == []

def test_holm():
    assert paper.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert paper.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])

def test_paper_compiles_and_every_number_is_traced(tmp_path, generated):
    typst = pytest.importorskip('typst', reason='the typst package is not installed (pip install typst): paper not compiled')
    pdf = paper.compile_paper(ROOT, tmp_path/'ease.pdf')
    assert pdf.stat().st_size > 100_000
    if shutil.which('pdftotext') is None: pytest.skip('pdftotext (poppler-utils) not installed: compiled, numbers not traced')
    nofig = paper.compile_paper(ROOT, tmp_path/'nofig.pdf', figures=False)
    text = subprocess.run(['pdftotext', str(nofig), '-'], capture_output=True, text=True, check=True).stdout
    assert 'Pending (issue' in text or all(p['status'] == 'available' for p in generated['pending'].values())
    assert '??' not in text                    # unresolved references
    assert paper.untraced_numbers(paper.paper_text(text), generated) == []
    if shutil.which('pdfinfo'):
        pages = int(next(l.split()[-1] for l in subprocess.run(['pdfinfo', str(pdf)], capture_output=True, text=True).stdout.splitlines() if l.startswith('Pages')))
        assert 9 <= pages <= 16, pages
