"""Chinese word segmentation for the knowledge base (jieba), pure apart from jieba's dictionary.

Documents are indexed with :func:`index_tokens` (jieba's search mode: a word *and* its sub-words, so
"社保卡" is found by "社保"); a query keeps its precise words (:func:`query_terms`) minus filler words
("我想问一下", "怎么"), so a long transcript still ranks by what it is about. Both sides lower-case
Latin letters, and both databases index the same space-separated tokens, so SQLite and PostgreSQL
rank from the same words.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from typing import Any

_lock = threading.Lock()
_jieba: Any = None

# words that say nothing about the matter (question and filler words of calls and typed text)
STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 嘛 哦 是 在 有 和 与 或 及 也 都 就 还 又 很 太 这 那 这个 那个 这样 那样 一下 一些
    我 你 您 他 她 它 我们 你们 他们 自己 想 要 问 请问 请 问一下 咨询 一下子 怎么 怎么样 怎样 如何 什么 哪里 哪儿
    哪个 为什么 多少 能 能不能 可以 可不可以 会 需要 应该 还是 但是 因为 所以 如果 然后 就是 不是 没有 现在 今天
    昨天 已经 一直 知道 告诉 帮 帮忙 给 让 被 把 对 从 到 向 跟 说 讲 看 喂 你好 您好 谢谢 好的 嗯 呃 那么 这么
    一个 个 些 点 里 上 下 中 吗？ 啥 咋 咋办 办 弄 搞""".split()
)
_WORDISH = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff]")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
MAX_QUERY_TERMS = 24


def _engine() -> Any:
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def loaded() -> bool:
    return _jieba is not None


def warm_up() -> None:
    """Load jieba's dictionary now (about a second) rather than in the first search."""
    _engine()


def _clean(tokens: Any) -> list[str]:
    return [t.strip().lower() for t in tokens if t.strip() and _WORDISH.search(t)]


def index_tokens(text: str) -> list[str]:
    """Tokens of a document: each word plus its dictionary sub-words (search mode)."""
    return _clean(_engine().cut_for_search(text or ""))


def index_text(text: str) -> str:
    """A document's tokens separated by spaces: what both databases' full-text indexes store."""
    return " ".join(index_tokens(text))


def query_terms(text: str, limit: int = MAX_QUERY_TERMS) -> list[str]:
    """The words a query is about, most frequent first: precise segmentation, no filler words, no
    single Chinese characters unless nothing else is left (one character alone says little)."""
    words = [w for w in _clean(_engine().cut(text or "")) if w not in STOPWORDS]
    longer = [w for w in words if not (len(w) == 1 and _CJK.match(w))]
    chosen = longer or words
    counts = Counter(chosen)
    return [w for w, _ in counts.most_common(limit)]
