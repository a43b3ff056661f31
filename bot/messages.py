"""What paperbot says to people, in every language it speaks: one catalogue.

Replies follow the chat's language: `say("zh", "saved")` is Chinese; a
language without its own entries (a chat may set `language de`) gets English.
Card and digest labels live in `bot.i18n`; these are the command replies.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "help_intro": (
            "paperbot follows arXiv for this chat: new papers with a short summary and key figure."
        ),
        "unknown_command": "Unknown command /{name}. Send /help for the list.",
        "not_a_command": "Commands start with /. Send /help to see them.",
        "not_text": "I read text commands only. Send /help to see them.",
        "too_long": "That message is too long (at most {limit} characters).",
        "admins_only": "Only administrators of this chat can change its topics or settings.",
        "channel_admins_only": "Only administrators of this channel can post to it.",
        "arxiv_down": "arXiv is not answering right now; please try again in a few minutes.",
        "failed": "Something went wrong on our side; the error was logged.",
        "give_topic": "Give a topic: /subscribe cs.CV (or NeRF, au:Mildenhall, ...)",
        "not_subscribed": "Not subscribed: {error}.",
        "following": "Following {name}",
        "already_following": "Already following {name}",
        "arrive_daily": "New papers arrive in the daily digest at {time} ({timezone}).",
        "arrive_instant": "New papers arrive as they are announced.",
        "give_unsubscribe": "Give a topic to stop following, or /unsubscribe all",
        "stopped_all": "Stopped following {count} topics.",
        "follows_none": "This chat follows no topics.",
        "not_changed": "Not changed: {error}.",
        "stopped": "Stopped following {name}",
        "not_followed": "Not followed here: {name}",
        "topics": "Topics:",
        "no_topics": "(none; try /subscribe cs.CV)",
        "settings": "Settings:",
        "change_hint": "Change one with /set <name> <value>.",
        "set_usage": "Usage: /set <name> <value>; names: {names}",
        "saved": "Saved.",
        "give_paper": "Give an arXiv id or link: /summarize 2404.00409",
        "digest_incomplete": "The digest could not be sent completely; the rest follows later.",
        "no_new_papers": "No new papers for this chat yet.",
        "paper_gone": "This paper is not available any more.",
        "try_later": "Not available right now; please try again in a minute.",
        "channel_hint": (
            "Channels: make me an administrator there, then send me here /subscribe @channel cs.CV"
        ),
        "channel_unknown": "I cannot see {channel}. Add me to the channel as an administrator "
        "first.",
        "not_a_channel": "{channel} is not a channel; send the command in that chat itself.",
        "cannot_post": "Make me an administrator of {title} who may post messages, then try again.",
        "channel_added": "I was added to the channel {title}. Manage it from here, e.g. "
        "/subscribe {handle} cs.CV",
    },
    "zh": {
        "help_intro": "paperbot 为本聊天跟踪 arXiv：新论文附简短总结和关键图。",
        "unknown_command": "未知命令 /{name}。发送 /help 查看命令列表。",
        "not_a_command": "命令以 / 开头。发送 /help 查看命令。",
        "not_text": "我只读取文字命令。发送 /help 查看命令。",
        "too_long": "消息太长（最多 {limit} 个字符）。",
        "admins_only": "只有本聊天的管理员可以修改主题或设置。",
        "channel_admins_only": "只有本频道的管理员可以让我在频道中发布。",
        "arxiv_down": "arXiv 暂时没有响应，请几分钟后再试。",
        "failed": "我们这边出了问题，错误已记录。",
        "give_topic": "请给出主题：/subscribe cs.CV（或 NeRF、au:Mildenhall 等）",
        "not_subscribed": "未订阅：{error}。",
        "following": "已关注 {name}",
        "already_following": "已在关注 {name}",
        "arrive_daily": "新论文将在每天 {time}（{timezone}）的速递中送达。",
        "arrive_instant": "新论文公布后即时送达。",
        "give_unsubscribe": "请给出要取消关注的主题，或发送 /unsubscribe all",
        "stopped_all": "已取消关注 {count} 个主题。",
        "follows_none": "本聊天没有关注任何主题。",
        "not_changed": "未修改：{error}。",
        "stopped": "已取消关注 {name}",
        "not_followed": "本聊天未关注：{name}",
        "topics": "主题：",
        "no_topics": "（无；试试 /subscribe cs.CV）",
        "settings": "设置：",
        "change_hint": "用 /set <名称> <值> 修改一项。",
        "set_usage": "用法：/set <名称> <值>；名称：{names}",
        "saved": "已保存。",
        "give_paper": "请给出 arXiv 编号或链接：/summarize 2404.00409",
        "digest_incomplete": "速递未能完整发送，其余部分稍后送达。",
        "no_new_papers": "本聊天暂时没有新论文。",
        "paper_gone": "这篇论文已无法获取。",
        "try_later": "暂时无法获取，请一分钟后再试。",
        "channel_hint": "频道：先把我设为频道管理员，再在这里发送 /subscribe @channel cs.CV",
        "channel_unknown": "我看不到 {channel}。请先把我加为该频道的管理员。",
        "not_a_channel": "{channel} 不是频道；请在那个聊天里直接发送命令。",
        "cannot_post": "请把我设为 {title} 的管理员并允许发布消息，然后再试。",
        "channel_added": "我已被加入频道 {title}。可以在这里管理它，例如 /subscribe {handle} cs.CV",
    },
}


def say(language: str, key: str, **values: Any) -> str:
    """The message `key` in `language` (English when that language has none), filled in."""
    text = MESSAGES.get(language, MESSAGES["en"]).get(key) or MESSAGES["en"][key]
    return text.format(**values) if values else text
