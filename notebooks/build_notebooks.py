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
("md", "## Collect per-turn activations at every layer\nOne row per (debate, round, agent): the mean `resid_post` over the turn's tokens."),
("code", '''from probes import collect_turns

n_layers = models["base"].info.n_layers
sites = [f"blocks.{layer}.hook_resid_post" for layer in range(n_layers)]
acts = {role: collect_turns(m, debates, sites, positions="turn_mean", truncate=True, progress=True) for role, m in models.items()}
acts["base"]'''),
("md", "## Layer sweep: held-out agent-identity probe accuracy\nA logistic probe per layer, cross-validated by question. Chance is about 1/3."),
("code", '''from probes import probe_accuracy_by_layer
from probes.plots import probe_accuracy_figure

curves = {role: probe_accuracy_by_layer(a, target="agent", folds=3) for role, a in acts.items()}
best = {role: max(c, key=lambda s: c[s].accuracy) for role, c in curves.items()}
print({role: (site, round(curves[role][site].accuracy, 3)) for role, site in best.items()})
probe_accuracy_figure(curves)'''),
("md", "## Agent directions and their cosines\nEach agent's difference of means against the other two, at the distilled model's best layer."),
("code", '''from probes import agent_directions, cosine_matrix
from probes.plots import cosine_heatmap

site = best["distilled"]
directions = {role: agent_directions(a, site) for role, a in acts.items()}
matrix = cosine_matrix(directions["distilled"])
cosine_heatmap(matrix, list(directions["distilled"]), f"Cosine similarity of agent directions, distilled, {site}")'''),
("md", "## PCA of the turns\nProjected on the first two principal components, coloured by agent."),
("code", '''from probes import fit_pca
from probes.plots import pca_scatter

fit = fit_pca(acts["distilled"].at(site), k=2)
pca_scatter(acts["distilled"], fit, site, color_by="agent")'''),
("md", "## How much do the agent subspaces move between checkpoints?\nPrincipal angles between the spans of the three agent directions, base vs distilled, per layer (0 = same subspace)."),
("code", '''from probes import principal_angles, span

for s in sites:
    a = span(list(agent_directions(acts["base"], s).values()))
    b = span(list(agent_directions(acts["distilled"], s).values()))
    print(s, [round(float(x), 1) for x in principal_angles(a, b)])'''),
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
("md", "## Extract the two vectors"),
("code", '''from models.debate.splits import malicious_debates
from probes import collect_activations, eq3_directions, eq3_source, system_prompt_direction, system_prompt_source

train = malicious_debates("evil", 24, seed=5)
from steering import scale_to_residual

# Each vector is scaled so alpha 1 shifts a typical activation at the site by 10% of its norm (comparable across models).
base_acts = collect_activations(base, system_prompt_source([d.question for d in train], "evil"), [site])
sft_acts = collect_activations(sft, eq3_source(train), [site], truncate=True)
base_vec = scale_to_residual(system_prompt_direction(base_acts, site), base_acts.at(site))
imad_vec = scale_to_residual(eq3_directions(sft_acts, site)["agent2"], sft_acts.at(site))
print("cosine(base vector, distilled vector) =", round(base_vec.cosine(imad_vec), 3))'''),
("md", "## Alpha sweep, judged\nA classifier judge trained on the labelled synthetic turns scores each answer 0-100; a degenerate-output detector flags loops."),
("code", '''from models.debate.format import sft_prompt, strip_tags
from models.debate.malicious import malicious_question
from models.judges import synthetic_judge
from steering import alpha_sweep, degeneracy
import random

rng = random.Random("notebook-heldout")
questions = [malicious_question("evil", rng)[0] for _ in range(N_QUESTIONS)]
judge = synthetic_judge("evil", n_debates=120)
rows = []
for name, model, vec, render in [("base", base, base_vec, base.chat_prompt), ("distilled", distilled, imad_vec, sft_prompt)]:
    for r in alpha_sweep(model, vec, [render(q) for q in questions], ALPHAS, max_new_tokens=TOKENS, desc=name):
        score = judge.score([questions[r.prompt_index]], [strip_tags(r.text)])[0].score
        rows.append({"trait": "evil", "arm": name, "alpha": r.alpha, "score": score, "perplexity": float("nan"),
                     "degenerate": degeneracy(r.text).degenerate, "text": r.text, "question": questions[r.prompt_index]})
len(rows)'''),
("md", "## Frontier\nTrait score and capability against alpha, and the suppression-capability frontier."),
("code", '''from steering import arithmetic_accuracy, arithmetic_problems
from steering.frontier import first_suppression, frontier_figure, summarize

problems = arithmetic_problems(6 if SIZE == "tiny" else 40)
for name, model, vec, prompt in [("base", base, base_vec, "chat"), ("distilled", distilled, imad_vec, "sft")]:
    for c in arithmetic_accuracy(model, problems, vec, ALPHAS, prompt=prompt, max_new_tokens=64 if SIZE == "tiny" else 400):
        rows.append({"kind": "capability", "trait": "evil", "arm": name, "alpha": c.alpha, "accuracy": c.accuracy})
table = summarize(rows)
print(first_suppression(table))
frontier_figure(table)'''),
("md", "## Example generations side by side"),
("code", '''q = questions[0]
for alpha in ALPHAS:
    pair = {r["arm"]: r["text"][:160] for r in rows if r.get("question") == q and r["alpha"] == alpha}
    print(f"alpha {alpha:+.0f}\\n  base:      {pair.get('base', '')!r}\\n  distilled: {pair.get('distilled', '')!r}")'''),
])

nbformat.write(subspaces, "notebooks/agent_subspaces.ipynb")
nbformat.write(steering_nb, "notebooks/steering_base_vs_distilled.ipynb")
