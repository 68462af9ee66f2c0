"""Why an article is in or out of a preview, in terms the pages can word in Chinese or English.

The core's `explain` gives a kind and the names it mentions; a preview adds one
kind of its own (`list_topic`: the article matches but its topic is not one of
the list's sections, so the digest leaves it out), and once a subscriber's copy was sent, the copy
decides (`in_copy`, `not_in_copy`), whatever they have picked since. An article their sent copy of another
issue of the list held is out (`received_before`): an article reaches a reader once per list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from digest.core.selection import Explanation

KINDS = (
    "topic",
    "everywhere",
    "no_region",
    "same",
    "inside",
    "contains",
    "apart",
    "list_topic",
    "in_copy",
    "not_in_copy",
    "received_before",
)


@dataclass(frozen=True)
class Reason:
    included: bool
    kind: str  # one of KINDS
    values: dict[str, str] = field(default_factory=dict)  # the names the sentence mentions
    text: str = ""  # the English sentence, for logs

    @property
    def key(self) -> str:
        """The catalogue key of this reason's sentence."""
        return f"iss_why_{self.kind}"


def reason_from(explanation: Explanation) -> Reason:
    return Reason(explanation.included, explanation.kind, dict(explanation.values), str(explanation))
