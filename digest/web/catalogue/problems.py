"""Problems found in uploaded files and region labels, worded for the admin pages.

The core words a problem in English for the CLI and logs and tags it with a
`code` and its `params`; a page rebuilds the sentence from those in its own
language instead of showing the English or trying to parse it back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2

from digest.web.i18n import CATALOGUE, DEFAULT_LANGUAGE, add_words

PREFIX = "problem_"

add_words(
    {
        "zh-CN": {
            # Region labels
            "problem_region_empty": "地区为空。",
            "problem_region_bad_code": "“{label}”：没有这个地区代码。",
            "problem_region_unknown": "“{label}”：无法识别的地区。",
            "problem_region_larger": "“{label}”按较大的行政区理解为{chosen}（也可能是{others}；如要选择，请写出省份）。",
            "problem_region_ambiguous": "“{label}”不明确，可能是{names}；请写出省份或城市。",
            "problem_region_ambiguous_city": "“{label}”不明确，可能是{names}；请写出城市。",
            "problem_region_typo": "“{label}”按{read_as}理解（{province}没有名为“{rest}”的地区）。",
            "problem_region_not_in_province": "“{label}”：{province}没有名为“{rest}”的地区，按{province}理解。",
            "problem_region_not_in_province_guess": "“{label}”：{province}没有名为“{rest}”的地区（是否指{guesses}？），按{province}理解。",
            # Whole files
            "problem_file_type_unknown": "无法识别的文件类型 {ext}：应为 {known} 之一，或明确选择格式。",
            "problem_file_type_missing": "文件名没有扩展名：应为 {known} 之一，或明确选择格式。",
            "problem_file_binary": "这不是文本文件（第 {offset} 字节处有 NUL 字节）；电子表格请另存为 UTF-8 编码的 CSV。",
            "problem_file_not_utf8": "文件不是 UTF-8 编码（第 {offset} 字节处的 {byte} 无效），请另存为 UTF-8。",
            "problem_format_unknown": "未知格式“{format}”：应为 {known} 之一。",
            "problem_input_empty": "文件是空的。",
            "problem_newsletter_no_articles": "没有“地区 | 标题”这样的行，看起来不是一期周报原文。",
            # CSV and JSON Lines
            "problem_csv_bad_header": "无法读取 CSV 表头。",
            "problem_csv_no_header": "缺少表头行。",
            "problem_csv_missing_columns": "表头缺少必填列 {missing}（现有列：{found}）。",
            "problem_csv_missing_columns_blank": "表头缺少必填列 {missing}（表头是空的）。",
            "problem_csv_duplicate_columns": "表头中的列重复：{columns}。",
            "problem_csv_bad_row": "这一行无法按 CSV 读取。",
            "problem_csv_cell_too_long": "这一行有单元格超过 {max} 个字符，无法读取。",
            "problem_json_not_finite": "{value} 不是 JSON 的值：数字必须是有限的。",
            "problem_json_too_deep": "这一行的 JSON 嵌套太深。",
            "problem_field_too_long": "{field} 字段太长，最多 {max} 个字符。",
            "problem_field_control": "{field} 字段含有控制字符或文字方向控制符（{char}），也不能换行。",
            "problem_regions_unfit": "{field} 中有地区名称太长，或含有控制字符。",
            "problem_csv_extra_cells": "这一行比表头多 {count} 个单元格（可能有未加引号的逗号）。",
            "problem_jsonl_no_object": "没有任何一行是 JSON 对象（第一行以 {start} 开头），这不是 JSON Lines 文件。",
            "problem_json_invalid": "这一行不是有效的 JSON（第 {column} 列出错）。",
            "problem_json_not_object": "这一行应为 JSON 对象，实际是 {type}。",
            "problem_field_missing": "缺少 {field} 字段。",
            "problem_field_empty": "{field} 字段为空。",
            "problem_field_not_string": "{field} 字段应为文本，实际是 {type}。",
            "problem_regions_not_strings": "{field} 字段应为文本列表。",
            "problem_regions_bad_type": "{field} 字段应为列表或文本，实际是 {type}。",
            "problem_published_missing": "缺少 {field}（发布日期），也没有填写默认发布日期。",
            "problem_published_bad_type": "{field}（发布日期）应写成 ISO 日期文本，实际是 {type}。",
            "problem_published_bad": "{field}（发布日期）“{value}”不是有效的日期或时间，请写成 2026-11-20 这样的格式。",
            "problem_url_bad_scheme": "{field}（链接）“{value}”必须以 http:// 或 https:// 开头。",
            "problem_body_empty_after_sanitising": "清除不安全的 HTML 后，{field}（正文）为空。",
            # Newsletter text
            "problem_credit_no_value": "“{label}”后面没有内容。",
            "problem_credit_bad_email": "“{value}”不是电子邮箱地址。",
            "problem_toc_empty_region": "目录条目的地区为空。",
            "problem_toc_empty_title": "目录条目的标题为空。",
            "problem_toc_before_heading": "这条目录条目出现在任何栏目标题之前。",
            "problem_toc_text_ignored": "目录中的这段文字已忽略。",
            "problem_article_empty_region": "“{text}”中竖线前的地区为空。",
            "problem_article_empty_title": "“{text}”中竖线后的标题为空。",
            "problem_article_before_heading": "文章“{text}”出现在任何栏目标题之前。",
            "problem_text_outside_article": "不属于任何文章的文字，已忽略。",
            "problem_article_no_body": "文章“{region} | {title}”没有正文。",
            "problem_toc_not_in_body": "目录列出了“{region} | {title}”，但正文中没有这篇文章。",
            "problem_toc_other_section": "目录把“{region} | {title}”列在{toc_section}下，正文却在{body_section}下。",
            "problem_article_not_in_toc": "文章“{region} | {title}”不在目录中。",
            # Storing articles
            "problem_topic_unknown": "没有栏目“{topic}”（本列表的栏目：{known}）。",
            "problem_regions_none_known": "没有可识别的地区（{labels}），文章未导入。",
            "problem_regions_partly_kept": "已按地区 {kept} 导入，忽略了无法识别的 {ignored}。",
            "problem_api_topic_unknown": "没有栏目“{topic}”。",
            "problem_api_region_unknown": "无法识别的地区：{labels}。",
            # Subscribers
            "problem_email_invalid": "“{value}”不是有效的电子邮箱地址。",
            "problem_status_unknown": "未知状态“{value}”，只能是 pending（待确认）、confirmed（已订阅）或 unsubscribed（已退订）。",
            "problem_subs_no_email_column": "表头没有 email 列。",
            "problem_subs_extra_cells": "这一行的单元格比表头的列多。",
            "problem_subs_missing_email": "缺少邮箱。",
            "problem_subs_kept_unsubscribed": "此人之前已退订，仍保持退订（status 列写 confirmed 才会重新订阅）。",
            "problem_subs_import_stopped": "导入在这一行中断：之前的行已导入，从这一行起未导入。再次导入同一文件即可完成。",
        },
        "en": {
            "problem_region_empty": "The region label is empty.",
            "problem_region_bad_code": "{label}: no division has this code.",
            "problem_region_unknown": "{label}: unknown region.",
            "problem_region_larger": "{label}: read as {chosen}, the larger division (also {others}; add the province to choose).",
            "problem_region_ambiguous": "{label}: ambiguous, could be {names}; add the province or city.",
            "problem_region_ambiguous_city": "{label}: ambiguous, could be {names}; add the city.",
            "problem_region_typo": "{label}: read as {read_as} (no division named {rest} in {province}).",
            "problem_region_not_in_province": "{label}: no division named {rest} in {province}; read as {province}.",
            "problem_region_not_in_province_guess": "{label}: no division named {rest} in {province} (did you mean {guesses}?); read as {province}.",
            "problem_file_type_unknown": "Unknown file type {ext}: expected one of {known}, or choose the format.",
            "problem_file_type_missing": "The file name has no extension: expected one of {known}, or choose the format.",
            "problem_file_binary": "Not a text file (NUL byte at offset {offset}); save a spreadsheet as CSV UTF-8.",
            "problem_file_not_utf8": "Not UTF-8: invalid byte {byte} at offset {offset}; save the file as UTF-8.",
            "problem_format_unknown": "Unknown format '{format}': expected one of {known}.",
            "problem_input_empty": "The file is empty.",
            "problem_newsletter_no_articles": "No `region | title` lines: this does not look like a newsletter issue.",
            "problem_csv_bad_header": "The CSV header row cannot be read.",
            "problem_csv_no_header": "There is no header row.",
            "problem_csv_missing_columns": "The header row lacks required column(s) {missing} (found: {found}).",
            "problem_csv_missing_columns_blank": "The header row lacks required column(s) {missing} (the header is blank).",
            "problem_csv_duplicate_columns": "Duplicate column(s) in the header: {columns}.",
            "problem_csv_bad_row": "This row cannot be read as CSV.",
            "problem_csv_cell_too_long": "A cell of this row is longer than {max} characters and cannot be read.",
            "problem_json_not_finite": "{value} is not a JSON value: numbers must be finite.",
            "problem_json_too_deep": "The JSON on this line is nested too deeply.",
            "problem_field_too_long": "{field} is too long: at most {max} characters.",
            "problem_field_control": "{field} holds a control or text-direction character ({char}), or a line break.",
            "problem_regions_unfit": "A region in {field} is too long or holds a control character.",
            "problem_csv_extra_cells": "The row has {count} more cell(s) than the header (an unquoted comma?).",
            "problem_jsonl_no_object": "No line is a JSON object (the first starts {start}): not JSON Lines.",
            "problem_json_invalid": "Invalid JSON (error at column {column}).",
            "problem_json_not_object": "Expected a JSON object, got {type}.",
            "problem_field_missing": "{field} is missing.",
            "problem_field_empty": "{field} is empty.",
            "problem_field_not_string": "{field} must be a string, not {type}.",
            "problem_regions_not_strings": "{field} must be a list of strings.",
            "problem_regions_bad_type": "{field} must be a list or a string, not {type}.",
            "problem_published_missing": "{field} is missing and no default publication date was given.",
            "problem_published_bad_type": "{field} must be an ISO date string, not {type}.",
            "problem_published_bad": "{field} '{value}' is not an ISO date or date-time.",
            "problem_url_bad_scheme": "{field} '{value}' must start with http:// or https://.",
            "problem_body_empty_after_sanitising": "{field} is empty once unsafe HTML is removed.",
            "problem_credit_no_value": "{label} has no value.",
            "problem_credit_bad_email": "'{value}' is not an email address.",
            "problem_toc_empty_region": "A contents entry has an empty region.",
            "problem_toc_empty_title": "A contents entry has an empty title.",
            "problem_toc_before_heading": "A contents entry comes before any section heading.",
            "problem_toc_text_ignored": "Text in the table of contents was ignored.",
            "problem_article_empty_region": "Empty region before the bar in '{text}'.",
            "problem_article_empty_title": "Empty title after the bar in '{text}'.",
            "problem_article_before_heading": "Article '{text}' comes before any section heading.",
            "problem_text_outside_article": "Text outside any article was ignored.",
            "problem_article_no_body": "Article {region} | {title} has no body.",
            "problem_toc_not_in_body": "The contents list {region} | {title} but the body has no such article.",
            "problem_toc_other_section": "The contents list {region} | {title} under {toc_section} but the body has it under {body_section}.",
            "problem_article_not_in_toc": "Article {region} | {title} is missing from the table of contents.",
            "problem_topic_unknown": "Unknown topic '{topic}' (this list has: {known}).",
            "problem_regions_none_known": "No known region in {labels}; the article was not stored.",
            "problem_regions_partly_kept": "Kept with regions {kept}; ignored {ignored}.",
            "problem_api_topic_unknown": "Unknown topic '{topic}'.",
            "problem_api_region_unknown": "Unknown region: {labels}.",
            "problem_email_invalid": "'{value}' is not a valid email address.",
            "problem_status_unknown": "Unknown status '{value}' (pending, confirmed or unsubscribed).",
            "problem_subs_no_email_column": "The header row has no email column.",
            "problem_subs_extra_cells": "More cells than header columns.",
            "problem_subs_missing_email": "The email is missing.",
            "problem_subs_kept_unsubscribed": "Unsubscribed earlier: kept unsubscribed (a status column saying confirmed re-subscribes).",
            "problem_subs_import_stopped": "The import stopped at this line: the rows before it are imported; import the same file again to finish.",
        },
    }
)


def worded(problem: Any, language: str) -> str:
    """The sentence for a Problem or a region warning in `language`; its English text when it has no code."""
    catalogue = CATALOGUE.get(language, CATALOGUE[DEFAULT_LANGUAGE])
    code = getattr(problem, "code", None)
    template = catalogue.get(PREFIX + code) if code else None
    if template is None:
        return getattr(problem, "message", None) or str(problem)
    return template.format(**dict(getattr(problem, "params", ())))


def reworded(values: Mapping[str, Any], language: str) -> Mapping[str, Any]:
    """A field error's values with `detail` said again from its region `notes`, when it carries them."""
    notes = values.get("notes")
    if not notes:
        return values
    separator = "; " if language == "en" else "；"
    return {**values, "detail": separator.join(worded(n, language) for n in notes)}


@jinja2.pass_context
def problem_text(context: jinja2.runtime.Context, problem: Any) -> str:
    return worded(problem, context["lang"])


@jinja2.pass_context
def problem_values(context: jinja2.runtime.Context, values: Mapping[str, Any]) -> Mapping[str, Any]:
    return reworded(values, context["lang"])


def install(env: jinja2.Environment) -> None:
    """Makes `problem_text(p)` and `problem_values(err.values)` available to every page."""
    env.globals.update(problem_text=problem_text, problem_values=problem_values)
