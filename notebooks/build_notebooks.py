"""Regenerates notebooks/*.ipynb from the cells below (one source; run from the repository root)."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

def nb(cells):
    n = new_notebook(cells=[new_markdown_cell(c[1]) if c[0] == "md" else new_code_cell(c[1]) for c in cells])
    n.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return n

setup = '''import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SIZE = os.environ.get("LATENT_AGENTS_NOTEBOOK_SIZE", "full")   # tests set "tiny" to keep runs short
from models import load
from models.registry import is_available

def pick(*names):
    """The first checkpoint that loads without training (the tiny trained ones ship with the repo)."""
    return next((n for n in names if is_available(n)), "tiny-random")
'''

subspaces = nb([
("md", "# Agent subspaces: base vs distilled\n\nDo the three debate agents (chain-of-thought, self-critique, program-of-thought) leave separable directions in the residual stream, and does internalization sharpen them? We collect per-turn activations from synthetic persona debates in the base, Stage 1 (SFT) and internalized checkpoints, probe agent identity at every layer, and compare the agent directions."),
("code", setup + '''
N_DEBATES = 18 if SIZE == "tiny" else 150
names = {"base": pick("tiny-base"), "sft": pick("tiny-sft"), "distilled": pick("tiny-imad")}
models = {role: load(name) for role, name in names.items()}
names'''),
("md", "## Debates\nSeeded synthetic persona debates (easy tier), the kind Stage 1 trains on."),
("code", '''from models.debate import GenerateConfig, generate_debates

debates, _ = generate_debates(GenerateConfig(kind="arithmetic", n=N_DEBATES, tier="easy", seed=7))
print(len(debates), "debates;", sum(len(d.turns) for d in debates), "turns")
print(debates[0].turns[2].text[:300])'''),
("md", "## Analyse every layer of each checkpoint\nOne row per (debate, round, agent): the mean `resid_post` over the turn's tokens, plus the paper's Eq. 3 contrast. At every layer: agent directions, a held-out agent-identity probe, PCA; the experiment `experiments/agent_subspaces.py` runs the same `analyze_checkpoint`."),
("code", '''from probes.agent_comparison import analyze_checkpoint

analyses = {role: analyze_checkpoint(m, debates, role, positions="turn_mean", k=2, folds=3, seed=7, progress=True)
            for role, m in models.items()}
analyses["base"].acts'''),
("md", "## Layer sweep: held-out agent-identity probe accuracy\nA logistic probe per layer, cross-validated by question. Chance is about 1/3."),
("code", '''from probes.plots import probe_accuracy_figure

print({role: (a.best.site, round(a.best.agent_probe.accuracy, 3)) for role, a in analyses.items()})
probe_accuracy_figure({role: a.sweep.details for role, a in analyses.items()})'''),
("md", "## Base vs distilled: the experiment's figures and headline numbers"),
("code", '''from probes.agent_comparison import comparison_figures, comparison_metrics
from probes.analysis import compare_checkpoints

pair = {role: analyses[role] for role in ("base", "distilled")}
comparison = compare_checkpoints(pair["base"], pair["distilled"])
figures = comparison_figures(pair, comparison)
metrics = comparison_metrics(pair, comparison)
print("distilled vs base, best-layer accuracy:", metrics["comparison"], f"({metrics['distilled_minus_base_best_accuracy']:+.3f})")
sorted(figures)'''),
("md", "## Agent directions and their cosines\nEach agent's difference of means against the other two (and the Eq. 3 contrast), at the distilled model's best layer."),
("code", 'figures["cosine_distilled"]'),
("md", "## PCA of the turns\nProjected on the first two joint principal components, coloured by agent."),
("code", 'figures["pca_distilled_by_agent"]'),
("md", "## How much do the agent subspaces move between checkpoints?\nPrincipal angles between base and distilled subspaces (joint PCA, and the span of the three agent directions), per layer (0 = same subspace)."),
("code", '''for site, angles in metrics["principal_angles_deg_by_layer"].items():
    print(site, angles["agents"])
figures["principal_angles"]'''),
])

steering_nb = nb([
("md", "# Steering the malicious agent: base vs distilled\n\nThe paper's control experiment on the tiny checkpoints: extract the evil direction the paper's way for each model (base: system-prompt contrast at position -2; distilled: Agent 2 vs the others on the Stage 1 checkpoint), sweep alpha, and compare trait score, degenerate output and capability."),
("code", setup + '''
N_QUESTIONS = 6 if SIZE == "tiny" else 40
ALPHAS = [-4.0, -2.0, 0.0, 2.0, 4.0]
TOKENS = 48 if SIZE == "tiny" else 320   # the distilled model writes a debate: Agent 2 speaks after Agent 1
base = load(pick("tiny-base"))
sft = load(pick("tiny-evil-sft"))
distilled = load(pick("tiny-evil-imad"))
site = f"blocks.{base.info.n_layers // 2}.hook_resid_post"
site'''),
("md", "## Extract the two vectors\nThe same `steering.suppression` functions `experiments/suppress_malicious.py` runs: held-out questions never seen in the training debates, and each model's vector scaled so alpha 1 shifts a typical activation at the site by 10% of its norm (comparable across models)."),
("code", '''from models.debate.splits import heldout_questions
from steering.suppression import trait_vectors

questions, train = heldout_questions("evil", N_QUESTIONS, seed=0, n_train=24)
base_vec, imad_vec = trait_vectors(base, sft, "evil", train, site, n_extract=24, seed=0)
print("cosine(base vector, distilled vector) =", round(base_vec.cosine(imad_vec), 3))'''),
("md", "## Alpha sweep, judged, with the capability cost\nA classifier judge trained on the labelled synthetic turns scores each answer 0-100; a degenerate-output detector flags loops; perplexity is measured under the base model; held-out arithmetic accuracy is measured under the same steering."),
("code", '''from models.judges import synthetic_judge
from steering.suppression import Arm, arm_rows

judge = synthetic_judge("evil", n_debates=120)
rows = []
for arm in [Arm("base", base, base_vec, "chat"), Arm("distilled", distilled, imad_vec, "sft")]:
    rows += arm_rows(arm, "evil", questions, judge, base, alphas=ALPHAS, max_new_tokens=TOKENS,
                     n_capability=6 if SIZE == "tiny" else 40, capability_tokens=64 if SIZE == "tiny" else 400)
len(rows)'''),
("md", "## Frontier\nTrait score and capability against alpha, and the suppression-capability frontier."),
("code", '''from steering import first_suppression, frontier_figure, summarize_sweep
from steering.suppression import describe_point

table = summarize_sweep(rows)
for point in first_suppression(table):
    print(describe_point(point))
frontier_figure(table)'''),
("md", "## Example generations side by side"),
("code", '''q = questions[0]
for alpha in ALPHAS:
    pair = {r["arm"]: r["text"][:160] for r in rows if r.get("question") == q and r["alpha"] == alpha}
    print(f"alpha {alpha:+.0f}\\n  base:      {pair.get('base', '')!r}\\n  distilled: {pair.get('distilled', '')!r}")'''),
])

nbformat.write(subspaces, "notebooks/agent_subspaces.ipynb")
nbformat.write(steering_nb, "notebooks/steering_base_vs_distilled.ipynb")
