"""models.hooked: HookedModel generation and reads are per row: batching, seeding and stop tokens."""

import torch

from tests.conftest import PROMPTS


def test_batched_equals_unbatched(tiny_hf):
    batched = tiny_hf.activations(PROMPTS, ["blocks.2.hook_resid_post"], positions="last")["blocks.2.hook_resid_post"]
    for i, prompt in enumerate(PROMPTS):
        single = tiny_hf.activations([prompt], ["blocks.2.hook_resid_post"], positions="last")["blocks.2.hook_resid_post"]
        torch.testing.assert_close(batched[i], single[0], atol=1e-5, rtol=0)
    gen = tiny_hf.generate(PROMPTS, max_new_tokens=8)
    assert gen.new_token_ids == [tiny_hf.generate([p], max_new_tokens=8).new_token_ids[0] for p in PROMPTS]

def test_sampling_is_seeded(tiny_hf):
    a = tiny_hf.generate(PROMPTS, max_new_tokens=8, do_sample=True, temperature=1.0, seed=7)
    b = tiny_hf.generate(PROMPTS, max_new_tokens=8, do_sample=True, temperature=1.0, seed=7)
    assert a.new_token_ids == b.new_token_ids

def test_token_counts_are_per_row_not_per_batch(tiny_hf):
    stop = tiny_hf.generate(PROMPTS[:1], max_new_tokens=4).new_token_ids[0][1]
    gen = tiny_hf.generate(PROMPTS, max_new_tokens=10, stop_token_ids=[stop])
    assert gen.n_prompt_tokens == [len(tiny_hf.tokenizer(p)["input_ids"]) for p in PROMPTS]
    assert gen.n_new_tokens[0] == 2  # stopped at its own stop token, not at the batch's longest row


def test_a_read_stops_after_its_last_block_and_reads_what_a_full_pass_computes(tiny_hf):
    from models.architecture import find_blocks

    batch = tiny_hf.tokenize(PROMPTS)
    with torch.no_grad():  # (HF installs its own output-capturing hooks on first use, so this comes first)
        full = tiny_hf.hf_model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                position_ids=batch.position_ids, output_hidden_states=True)
    blocks = find_blocks(tiny_hf.hf_model)
    before = [len(b._forward_hooks) for b in blocks]
    ran: list[int] = []
    handles = [b.register_forward_hook(lambda m, a, o, i=i: ran.append(i)) for i, b in enumerate(blocks)]
    try:
        acts = tiny_hf.activations(PROMPTS, ["blocks.1.hook_resid_post", "blocks.0.hook_mlp_out"], positions="all",
                                   reduce="mean")
    finally:
        for h in handles:
            h.remove()
    assert ran == [0, 1]  # blocks 2 and 3 and the logits never ran
    mask = batch.attention_mask.unsqueeze(-1).float()
    expected = (full.hidden_states[2] * mask).sum(1) / mask.sum(1)
    torch.testing.assert_close(acts["blocks.1.hook_resid_post"], expected)
    assert [len(b._forward_hooks) for b in blocks] == before  # the stop hook went with the reads
