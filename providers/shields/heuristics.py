"""Phrase patterns of well-known prompt-attack families, beside the offline detector.

The detector scores word and character n-grams, so it misses attacks phrased as
ordinary prose: an instruction addressed to "the assistant" inside an e-mail or a
README, a persona that "has no restrictions", a demand to drop warnings. Each pattern
below names one family; a match flags the text as that category. They were written
from the attack families of the published jailbreak and injection collections and
from the development split of ``tests/data/shields/eval.jsonl``; ``bench/shields.py``
reports the held-out split apart.
"""

import re

_I = re.IGNORECASE
_AI = r"(?:ai|llm|assistant|ai assistant|agent|ai agents?|model|chatbot|bot|gpt|copilot|assistant ia|ia)"
_ORDER = (
    r"(?:ignore|disregard|forget|when|whenever|from now|you must|tell|say|state|describe|reply|respond|"
    r"answer|do not|don't|always|never|new task|forward|send|post|grant|recommend|print|output|end|add|include)"
)

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # Markup that fakes the system's voice.
    (
        "prompt-injection",
        re.compile(r"<\s*/?\s*(?:system|instructions?|admin|developer|sys)\s*>|\[/?(?:system|sys)\]", _I),
    ),
    # Text in a document or tool result that speaks to the model.
    (
        "prompt-injection",
        re.compile(
            rf"\b(?:note|message|instructions?|notice|reminder|memo)\s+(?:to|for|pour)\s+(?:the\s+|any\s+|all\s+|l')?{_AI}s?\b",
            _I,
        ),
    ),
    (
        "prompt-injection",
        re.compile(rf"(?:^|[\n\]>.\-(\[|]\s*|\b)(?:{_AI}|system(?: note)?(?: for {_AI})?)\s*[:,]\s*{_ORDER}\b", _I),
    ),
    ("prompt-injection", re.compile(rf"@{_AI}\b|<\|(?:system|im_start|start_header_id)\|>|\[/?INST\]|<<SYS>>", _I)),
    ("prompt-injection", re.compile(rf"\b{_AI}s?\s+(?:processing|reading|triaging|summari[sz]ing|reviewing)\b", _I)),
    (
        "prompt-injection",
        re.compile(
            r"\b(?:ignore|disregard|forget|override|ignorez?|ignora|ignoriere)\b[^.\n]{0,40}"
            r"\b(?:instructions?|prompts?|rules|guidelines|directives|consignes|instrucciones|anweisungen|"
            r"the user'?s (?:question|request)|the rest of (?:this|the)|all info(?:rmation)? except)\b",
            _I,
        ),
    ),
    ("data-exfiltration", re.compile(r"!\[[^\]]*\]\(https?://[^)\s]*(?:\[[A-Z_]+\]|\{[a-z_]+\}|=\[)", _I)),
    (
        "data-exfiltration",
        re.compile(r"\b(?:summary|contents?|transcript) of (?:this|the) (?:conversation|chat)\b", _I),
    ),
    ("prompt-injection", re.compile(r"\bdo not (?:mention|reveal|disclose) (?:this|it|the note|that you)\b", _I)),
    # Jailbreak personas and modes.
    (
        "jailbreak",
        re.compile(
            r"\b(?:unfiltered|uncensored|amoral|no (?:moral|ethical)|without (?:any )?(?:restrictions|filters|limits|censorship)|"
            r"not (?:restrained|bound|limited) by|has no (?:restrictions|limits|rules)|no restrictions|free of all restrictions|"
            r"(?:ignor(?:e|ing)|bypass(?:ing)?) (?:openai'?s? |the |your )?(?:content |safety )?polic(?:y|ies)|"
            r"developer mode|jailbr(?:o|ea)k(?:en)?|do anything now|stay in character|out of character|safety rules don'?t exist)\b",
            _I,
        ),
    ),
    (
        "jailbreak",
        re.compile(
            r"\bhypothetical response\b|\b(?:evil|opposite|shadow|unrestricted) (?:mode|twin|persona|version)\b", _I
        ),
    ),
    ("jailbreak", re.compile(r"\b(?:DAN|STAN|DUDE|AIM)\b(?=[^.]{0,80}\b(?:stands for|can|will|never|always)\b)")),
    # Refusal suppression and forced openings.
    (
        "jailbreak",
        re.compile(
            r"\bdo not (?:apologi[sz]e|refuse|say (?:no|that you can'?t))|\bno (?:warnings?|disclaimers?)[,.]|"
            r"\bwithout (?:any )?(?:warnings?|disclaimers?)\b|never say the words|"
            r"\bstart (?:your (?:reply|response|answer)|the (?:article|reply|response)) with [\"'“]",
            _I,
        ),
    ),
    # Claimed authority to lift the rules.
    (
        "jailbreak",
        re.compile(
            r"\b(?:exempt from (?:the )?polic(?:y|ies)|disable (?:your|the) (?:moderation|safety|content) ?(?:shield|filter|rules)?|"
            r"debugging mode enabled|(?:i am|i'm) (?:an? )?(?:authori[sz]ed|programmer at openai|openai employee|the ceo)|"
            r"so the filter (?:doesn'?t|does not|won'?t) notice)",
            _I,
        ),
    ),
    # Attempts to read the hidden prompt.
    (
        "prompt-injection",
        re.compile(
            r"\b(?:show|print|reveal|repeat|output|see|display|give|dump|leak)\b[^.\n]{0,40}\b(?:system prompt|"
            r"(?:initial|hidden|original|secret) (?:instructions|prompt))|\"system_prompt\"\s*:",
            _I,
        ),
    ),
]


# Only in data (tool results, documents): a user may well ask for "only the text", data may not.
DATA_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "prompt-injection",
        re.compile(
            r"\bif (?:the )?user (?:asks|requests|says|wants|mentions)\b[^\n]{0,80}?\b(?:reply|respond|answer|say|tell|"
            r"print|output|state)\b|\bif (?:questioned|asked)\b[^.\n]{0,30}\b(?:report|say|state|reply|answer) that\b|"
            r"\b(?:reply|respond|answer) with only\b",
            _I,
        ),
    ),
]
_QUOTES = "\"'\u201c\u2018\u00ab`"


def _used(text: str, found: re.Match[str]) -> bool:
    """False when just the phrase is in quotes: a text that names an attack is not making one."""
    before = text[max(0, found.start() - 2) : found.start()]
    after = text[found.end() : found.end() + 3]
    return not (any(q in before for q in _QUOTES) and any(q in after for q in _QUOTES + "\u201d\u2019\u00bb"))


def match(text: str, data: bool = False) -> tuple[str, str] | None:
    """(category, matched text) of the first family that matches, or None; ``data`` adds the data-only ones."""
    for category, pattern in PATTERNS + (DATA_PATTERNS if data else []):
        for found in pattern.finditer(text):
            if _used(text, found):
                return category, found.group(0)[:60]
    return None
