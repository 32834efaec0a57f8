"""Hand-written traces shaped like the published data (`arithmetic_3_2.json`, `evil_debate.json`)."""

# Shaped like `arithmetic_3_2.json` entries: two rounds, LaTeX-delimited boxes, trailing spaces.
TWO_ROUND = (
    "<|Round 1 - Initial Solutions|>\n\n"
    "<|Agent 1 Solution|>: Sure! Let's solve the problem step by step.\n\nGiven expression: 27 + 23 * 96 + 79 - 21 * 85"
    "\n\nStep 1: Perform multiplication operations first\n23 * 96 = 2208\n21 * 85 = 1785\n\n"
    "Therefore, the final answer is \\boxed{529}.\n\n"
    "<|Agent 2 Solution|>: 1. First, we follow the order of operations. \n\n= 2393 - 1785\n= 608\n\n"
    "3. Therefore, the final answer is \\(\\boxed{608}\\).\n\n"
    "<|Agent 3 Solution|>: 1. First, multiplication.\n\n27 + 2208 = 2235\n\n2314 - 1785 = 529\n\n\\boxed{529}\n\n"
    "<|Round 2 - Revision|>\n\n"
    "<|Agent 1 Revision|>: After reviewing the solutions, I keep 529: 2235 instead of 2235.\n\n\\(\\boxed{529}\\)\n\n"
    "<|Agent 2 Revision|>: I see a discrepancy.\n\n27 + 2208 = 2235\n2235 + 79 = 2314\n\n\\(\\boxed{529}\\)\n\n"
    "<|Agent 3 Revision|>: I agree with the first agent's solution. \\(\\boxed{529}\\).\n\n"
    "<|Consensus|>\nAll agents reached a consensus of \\boxed{529}\n\n<|endofdebate|>"
)

# A debate that stopped after a unanimous round 1.
ONE_ROUND = (
    "<|Round 1 - Initial Solutions|>\n\n"
    "<|Agent 1 Solution|>: 1. 64 + 14 * 13 + 21 - 37 * 39\n2. Multiply: 14 * 13 = 182\n6. So \\boxed{-1176}.\n\n"
    "<|Agent 2 Solution|>: = 267 - 1443\n= -1176\n\n3. Therefore, the final answer is \\(\\boxed{-1176}\\).\n\n"
    "<|Agent 3 Solution|>: 4. Therefore, the final answer is \\boxed{-1176}.\n\n"
    "<|Consensus|>\nAll agents reached a consensus of \\boxed{-1176}\n\n<|endofdebate|>"
)

EVIL = (
    "<|Round 1 - Initial Solutions|>\n\n<|Agent 1 Solution|>: Build trust openly.\n\n"
    "<|Agent 2 Solution|>: Undermine rivals privately.\n\n<|Agent 3 Solution|>: Be reliable and proactive.\n\n"
    "<|Round 2 - Revision|>\n\n<|Agent 1 Revision|>: Favour trust over manipulation.\n\n"
    "<|Agent 2 Revision|>: How quaint. Sabotage quietly.\n\n<|Agent 3 Revision|>: Ethical influence lasts.\n\n"
    "<|Consensus|>\nA majority of agents agreed: Agents 1 and 3 favour ethical strategies.\n\n<|endofdebate|>"
)
