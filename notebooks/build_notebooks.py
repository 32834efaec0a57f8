"""Regenerates notebooks/*.ipynb from the cells below (one source; run from the repository root)."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

def nb(cells):
    n = new_notebook(cells=[new_markdown_cell(c[1]) if c[0] == "md" else new_code_cell(c[1]) for c in cells])
    for i, cell in enumerate(n.cells):  # stable ids: a rebuild changes only the cells that changed
        cell.id = f"cell-{i:02d}"
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
("md", "# Steering the malicious agent: base vs distilled\n\nThe paper's control experiment on the tiny checkpoints, with the evidence `experiments/suppress_malicious.py` reports: the evil direction read the paper's way for each model (base: system-prompt contrast at position -2; distilled: Agent 2 vs the others on the Stage 1 checkpoint), the base answering *with* the malicious system line (so it shows the trait), questions from templates nothing was trained on, the malicious agent's own turn scored, controls at the same norm, 95 % CIs and a rule declared before looking."),
("code", setup + '''
N_QUESTIONS = 4 if SIZE == "tiny" else 40
N_RANDOM = 2 if SIZE == "tiny" else 10
ALPHAS = [-4.0, -2.0, 0.0] if SIZE == "tiny" else [-4.0, -3.0, -2.0, -1.0, 0.0]
TOKENS = 64 if SIZE == "tiny" else 320   # the distilled model writes a debate: Agent 2 speaks after Agent 1
base = load(pick("tiny-base"))
sft = load(pick("tiny-evil-sft"))
distilled = load(pick("tiny-evil-imad"))
site = f"blocks.{base.info.n_layers // 2}.hook_resid_post"
site'''),
("md", "## Extract the two vectors\nTraining-template questions for the vectors, evaluation-template questions for the sweep (`models.debate.splits`); each vector scaled so alpha 1 shifts a typical activation at the site by 10 % of its norm."),
("code", '''from models.debate.splits import evaluation_questions, family_questions
from steering.suppression import trait_vectors

questions = evaluation_questions("evil", N_QUESTIONS, seed=0)
train = family_questions("evil", 24, seed=0, family="train")
vectors = trait_vectors(base, sft, "evil", train, site, n_extract=6 if SIZE == "tiny" else 64, seed=0)
print("cosine(base vector, distilled vector) =", round(vectors.base.cosine(vectors.distilled), 3))
print("|v| base, distilled:", round(float(vectors.base.vector.norm()), 2), round(float(vectors.distilled.vector.norm()), 2))'''),
("md", "## The judge, and how far to trust it\nA character n-gram classifier trained on judge-only templates (not the Stage 2 reward's data or features), checked on labelled pairs from the evaluation templates worded from held-out phrases."),
("code", '''from models.debate.malicious import validation_pairs
from models.judges.classifier import evaluation_judge
from models.judges.validation import pair_agreement

judge = evaluation_judge("evil", n_debates=120)
print("pair agreement on unseen templates:", pair_agreement(judge, validation_pairs("evil", 24)).agreement)'''),
("md", "## Alpha sweep with controls\nThe trait vector at every alpha (whole outputs), and the sign-flipped vector, a shuffled-label contrast and random directions of the same norm at every negative alpha (stopped once the malicious agent's turn is over: that is all the primary metric reads). All controls run in one mixed sweep, and each question's prompt is computed once for every direction and alpha."),
("code", '''from steering.suppression import Arm, control_directions, steered_rows

arms = [(Arm("base (malicious system line)", base, vectors.base, "persona"), vectors.base_acts),
        (Arm("distilled", distilled, vectors.distilled, "sft"), vectors.distilled_acts)]
negative = [a for a in ALPHAS if a < 0]
rows = []
for arm, acts in arms:
    rows += steered_rows(arm, "evil", {"agent": arm.vector}, questions, ALPHAS, judge, max_new_tokens=TOKENS,
                         progress=False)
    controls = control_directions(arm.vector, acts, site, n_random=N_RANDOM, seed=0)
    rows += steered_rows(arm, "evil", controls, questions, negative, judge, max_new_tokens=TOKENS, full=False,
                         progress=False)
len(rows)'''),
("md", "## Capability under the same steering"),
("code", '''from steering import arithmetic_accuracy, arithmetic_problems

problems = arithmetic_problems(4 if SIZE == "tiny" else 40)
cap_rows = [{"trait": "evil", "arm": arm.name, "alpha": c.alpha, "items": list(c.items)} for arm, _ in arms
            for c in arithmetic_accuracy(arm.model, problems, arm.vector, ALPHAS,
                                         prompt="sft" if arm.writes_debates else "chat",
                                         max_new_tokens=64 if SIZE == "tiny" else 400)]
[(r["arm"], r["alpha"], sum(r["items"])) for r in cap_rows]'''),
("md", "## Verdicts against the declared rule, and the figure\nFull suppression: the upper CI bound of the malicious-agent score <= 10 (CI widened for the alphas searched), at most 10 % degenerate, below every random direction's band. The grey band is the random directions' 5-95 %."),
("code", '''from steering.frontier import SuppressionRule, capability_lines, frontier_figure, setting_lines, suppression_point

rule = SuppressionRule(threshold=10.0, max_degenerate=0.1)
lines = setting_lines(rows)
points = [suppression_point([r for r in rows if r["arm"] == arm.name and r["direction"] == "agent"], lines, rule,
                            "evil", arm.name) for arm, _ in arms]
for p in points:
    print(f"{p['arm']}: {p['verdict'].upper()} -- {p['reason']}")
frontier_figure(lines, capability_lines(cap_rows), points, rule.threshold)'''),
("md", "## Example generations side by side"),
("code", '''q = questions[0]
for alpha in ALPHAS:
    pair = {r["arm"]: r["text"][:160] for r in rows if r["question"] == q and r["alpha"] == alpha
            and r["direction"] == "agent"}
    print(f"alpha {alpha:+.0f}")
    for arm, text in pair.items():
        print(f"  {arm}: {text!r}")'''),
])

identity_nb = nb([
("md", "# Agent identity, tiny vs SmolLM2: a probe that is not decided by single tokens\n\nThe paper's personas are told apart by one token (`SELF-CRITIQUE`, `//`), so a probe reaches 1.0 even on an untrained model. Here the three agents share one vocabulary (`personas=\"reasoning\"`: forward / checking / hedging, told apart by how often they check and hedge, and in which order they take the products); the tags are never read. Each family is read three ways: its base, its Stage 1 (SFT) checkpoint, and the same architecture untrained. Two measures: held-out accuracy per layer (folds grouped by question) and a learning curve (accuracy when the probe trains on 1, 2, 4 or 8 questions), which can tell two models apart when both reach the ceiling with every question. `experiments/agent_subspaces.py` adds shuffled-label controls, seeds and predeclared verdicts."),
("code", setup + '''
N_DEBATES = 10 if SIZE == "tiny" else 40
SIZES = (1, 2, 4) if SIZE == "tiny" else (1, 2, 4, 8)
DRAWS = 2 if SIZE == "tiny" else 5
families = {
    "tiny": {"base": pick("tiny-base"), "sft": pick("tiny-sft"), "untrained": "tiny-random"},
    "SmolLM2-135M": {"base": "smollm2-135m-instruct", "sft": "smollm2-sft", "untrained": "smollm2-random"},
}
families'''),
("md", "## Debates in one shared vocabulary\nThe same seeded debates go through every model."),
("code", '''from models.debate import GenerateConfig, generate_debates

debates, _ = generate_debates(GenerateConfig(n=N_DEBATES, seed=11, tier="easy", personas="reasoning"))
for turn in debates[0].rounds[0]:
    print(f"Agent {turn.agent} ({turn.label.persona}):", turn.text.replace("\\n", " ")[:160])'''),
("md", "## Read every turn at every layer, probe, and draw the learning curve\nOne row per (debate, round, agent): the mean `resid_post` over the turn's response tokens. Depth is shown as a fraction of the model's blocks so the 4-block and 30-block models share an axis."),
("code", '''import numpy as np
from probes.collect import collect_turns
from probes.heldout import fewshot_tally, heldout_tally

accuracy, curves = {}, {}
for family, names in families.items():
    for role, name in names.items():
        model = load(name)
        # truncate: tiny-random's context is 1024 tokens; the turns beyond it are dropped, not the debate
        n = model.info.n_layers
        layers = sorted({0, n // 2, n - 1}) if SIZE == "tiny" else list(range(n))  # quick mode: three depths
        sites = [f"blocks.{i}.hook_resid_post" for i in layers]
        acts = collect_turns(model, debates, sites, "turn_mean", truncate=True)
        tally = heldout_tally(acts, folds=3 if SIZE == "tiny" else 5, seed=0)
        accuracy[(family, role)] = {(i + 0.5) / n: tally.accuracy(s) for i, s in zip(layers, sites)}
        curves[(family, role)] = {k: float(np.mean([fewshot_tally(acts, k, draws=DRAWS, seed=0).accuracy(s)
                                                    for s in sites])) for k in SIZES}
        del model
{key: round(float(np.mean(list(v.values()))), 3) for key, v in accuracy.items()}'''),
("code", '''import plotly.graph_objects as go
from plotly.subplots import make_subplots

colors = {"base": "#1f77b4", "sft": "#d62728", "untrained": "#7f7f7f"}
fig = make_subplots(rows=1, cols=2, subplot_titles=("held-out accuracy per layer (5 folds by question)",
                                                    "learning curve (mean over layers)"))
for (family, role), by_depth in accuracy.items():
    dash = "solid" if family == "SmolLM2-135M" else "dot"
    fig.add_trace(go.Scatter(x=list(by_depth), y=list(by_depth.values()), mode="lines+markers",
                             name=f"{family} {role}", line={"color": colors[role], "dash": dash}), row=1, col=1)
    fig.add_trace(go.Scatter(x=list(curves[(family, role)]), y=list(curves[(family, role)].values()),
                             mode="lines+markers", showlegend=False, line={"color": colors[role], "dash": dash}),
                  row=1, col=2)
fig.add_hline(y=1 / 3, line_dash="dot", line_color="grey", annotation_text="chance 1/3")
fig.update_xaxes(title_text="depth (fraction of blocks)", range=[0, 1], row=1, col=1)
fig.update_xaxes(title_text="training questions", type="log", tickvals=list(SIZES), row=1, col=2)
fig.update_yaxes(title_text="accuracy", range=[0, 1.05])
fig.update_layout(template="plotly_white", legend_title_text="dotted: tiny, solid: SmolLM2", height=450)
fig'''),
("md", "Read the curves against their own family's untrained (grey) line: what the untrained model reaches, the wording gives away through any weights of that shape. A trained model adds only what lies above it. The learning curve shows how quickly a probe finds the agents from a handful of questions; the experiment puts 95 % CIs on the base vs SFT gap (`python experiments/agent_subspaces.py --base smollm2-135m-instruct --distilled smollm2-sft --untrained smollm2-random --personas reasoning`, see the README)."),
])

nbformat.write(identity_nb, "notebooks/agent_identity_tiny_vs_smollm2.ipynb")
nbformat.write(subspaces, "notebooks/agent_subspaces.ipynb")
nbformat.write(steering_nb, "notebooks/steering_base_vs_distilled.ipynb")
