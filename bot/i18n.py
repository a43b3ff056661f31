"""Languages and the user-visible labels of cards, digests and replies.

Labels exist in English and Chinese; any other language (a chat may set
`language de` or `language Español`) gets English labels, while the summary
itself is asked for in that language by the language-model summarizers.
"""

from __future__ import annotations

import re

_NAMES = {
    "english": "en",
    "chinese": "zh",
    "中文": "zh",
    "汉语": "zh",
    "简体中文": "zh",
    "zh-cn": "zh",
    "zh-hans": "zh",
    "zh_cn": "zh",
    "en-us": "en",
    "en-gb": "en",
    "en_us": "en",
    "german": "de",
    "deutsch": "de",
    "french": "fr",
    "français": "fr",
    "spanish": "es",
    "español": "es",
    "japanese": "ja",
    "日本語": "ja",
    "korean": "ko",
    "한국어": "ko",
    "russian": "ru",
    "русский": "ru",
}
_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
_NAME = re.compile(r"[^\W\d_][^\W\d_ \-]{1,29}")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "authors": "Authors",
        "et_al": "et al.",
        "category": "Category",
        "published": "Published",
        "venue": "Venue",
        "pdf": "PDF",
        "abstract_page": "arXiv",
        "code": "Code",
        "project": "Project page",
        "tldr": "TL;DR",
        "takeaways": "Key takeaways",
        "abstract": "Abstract",
        "summary": "Summary",
        "figure": "Figure",
        "background": "Background",
        "prior_work": "Prior work and its problems",
        "method": "Method",
        "results": "Results",
        "conclusion": "Conclusion",
        "significance": "Significance",
        "novelty": "Novelty",
        "limitations": "Limitations",
        "keywords": "Keywords",
        "source": "Summary source",
        "source_fulltext": "language model, full text",
        "source_abstract": "language model, abstract only",
        "source_extractive": "sentences extracted from the abstract (no language model)",
        "digest_title": "arXiv digest",
        "digest_update": "Update {date}",
        "digest_count": "{count} new papers",
        "digest_topics": "Topics",
        "digest_empty": "No new papers.",
        "digest_tap": "Tap a number for the paper's card.",
        "digest_more": "More papers, best first; tap a number for the paper's card.",
        "digest_more_plain": "More papers, best first:",
        "digest_more_ids": "More papers, best first; /summarize ID opens one, /why ID says why.",
        "blog_description": "New arXiv papers on {topics}, {date}",
        "blog_disclaimer": (
            "Summaries are written by {source}; titles, authors and links come from arXiv. "
            "Check the paper before relying on a summary."
        ),
        "figures_heading": "Figures",
        "hidden_text": (
            "⚠️ This PDF hides text from its readers (such as instructions aimed at AI "
            "reviewers); the summary leaves it out."
        ),
        "colon": ": ",
        "and": " and ",
        "details": "Details",
        "digest_count_one": "1 new paper",
        "blog_source_llm": "a language model",
        "blog_source_llm_named": "a language model ({model})",
        "blog_source_extractive": "extracting sentences from each abstract (no language model)",
    },
    "zh": {
        "authors": "作者",
        "et_al": "等",
        "category": "分类",
        "published": "发表于",
        "venue": "会议/期刊",
        "pdf": "PDF",
        "abstract_page": "arXiv",
        "code": "代码",
        "project": "项目主页",
        "tldr": "一句话总结",
        "takeaways": "要点",
        "abstract": "摘要",
        "summary": "总结",
        "figure": "图",
        "background": "研究背景",
        "prior_work": "过去的方法及其问题",
        "method": "提出的方法",
        "results": "实验结果",
        "conclusion": "结论",
        "significance": "意义",
        "novelty": "创新点",
        "limitations": "局限性",
        "keywords": "关键词",
        "source": "总结来源",
        "source_fulltext": "语言模型（全文）",
        "source_abstract": "语言模型（仅摘要）",
        "source_extractive": "摘录自摘要原句（未使用语言模型）",
        "digest_title": "arXiv 论文速递",
        "digest_update": "{date} 更新",
        "digest_count": "{count} 篇新论文",
        "digest_topics": "主题",
        "digest_empty": "没有新论文。",
        "digest_tap": "点击编号查看论文卡片。",
        "digest_more": "更多论文，按相关度排序；点击编号查看论文卡片。",
        "digest_more_plain": "更多论文，按相关度排序：",
        "digest_more_ids": "更多论文，按相关度排序；/summarize ID 查看卡片，/why ID 查看原因。",
        "blog_description": "{topics} 方向最新论文，{date}",
        "blog_disclaimer": "总结由{source}生成；标题、作者和链接均来自 arXiv。引用前请核对原文。",
        "figures_heading": "论文图片",
        "hidden_text": (
            "⚠️ 此 PDF 含有读者看不见的隐藏文字（例如写给 AI 审稿人的指令），总结未采用这些文字。"
        ),
        "colon": "：",
        "and": "和",
        "details": "详细总结",
        "digest_count_one": "1 篇新论文",
        "blog_source_llm": "语言模型",
        "blog_source_llm_named": "语言模型（{model}）",
        "blog_source_extractive": "摘录摘要原句（未使用语言模型）",
    },
}


def normalize_language(value: str) -> str:
    """Canonical language tag: `en`, `zh`, `de`… or a language name as given.

    Raises ValueError for something that is not a language (digits, markup).
    """
    text = " ".join(value.split()).lower()
    if text in _NAMES:
        return _NAMES[text]
    if _CODE.fullmatch(text):
        return text.split("-")[0] if text.split("-")[0] in ("en", "zh") else text
    if _NAME.fullmatch(text):
        return text
    raise ValueError("expected a language code such as en, zh, de or a language name")


_LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Simplified Chinese",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "ja": "Japanese",
    "ko": "Korean",
    "ru": "Russian",
}


def language_name(language: str) -> str:
    """How to name `language` to a language model: "zh" → "Simplified Chinese"; any other
    tag or name as the user gave it."""
    return _LANGUAGE_NAMES.get(language, f"the language {language!r}")


def labels(language: str) -> dict[str, str]:
    """Labels in `language`, English where that language has none."""
    return LABELS.get(language, LABELS["en"])
