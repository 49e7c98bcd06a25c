"""Citizens' e-mail as it arrives (raw bytes built by hand, as Chinese mail clients send them):
GB2312/GBK/GB18030/UTF-8, base64 and quoted-printable, encoded headers and file names, a reply
to our acknowledgement; hostile mail refused or cleaned."""

from __future__ import annotations

import base64
import quopri

import pytest

from app.mail.parse import MAX_BYTES, MailRefused, parse

B64 = lambda s, cs: base64.b64encode(s.encode(cs)).decode()  # noqa: E731


def test_gbk_body_declared_gb2312_with_encoded_subject():
    text = "小区旁边的工地半夜施工，噪音扰民。镕"  # 镕 is GBK, not in GB2312: clients still declare gb2312
    raw = (
        "From: =?GB2312?B?" + B64("张三", "gb2312") + "?= <zhang@example.test>\r\n"
        "Subject: =?GB2312?B?" + B64("投诉施工噪音", "gb2312") + "?=\r\n"
        "Message-ID: <m1@example.test>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(text.encode("gbk")).decode()
    ).encode("ascii")
    m = parse(raw)
    assert (m.sender, m.subject, m.text, m.case_number) == ("zhang@example.test", "投诉施工噪音", text, None)
    assert m.message_id == "<m1@example.test>" and m.notes == []


def test_reply_quoted_printable_utf8_names_our_case_and_keeps_attachment():
    body = quopri.encodestring("补充：今天又停水了，附上照片。".encode()).decode()
    raw = (
        "From: citizen@example.test\r\nSubject: =?UTF-8?B?" + B64("回复：【12345】您的诉求已受理，工单号 KM-20261202-0007", "utf-8") + "?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
        "--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + body + "\r\n"
        "--XX\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename*=UTF-8''%E7%85%A7%E7%89%87.jpg\r\n\r\n"
        + base64.b64encode(b"\xff\xd8\xff" + b"0" * 50).decode() + "\r\n--XX--\r\n"
    ).encode("ascii")  # fmt: skip
    m = parse(raw)
    assert m.case_number == "KM-20261202-0007" and m.text == "补充：今天又停水了，附上照片。"
    assert [(a.filename, a.content_type, a.data[:3]) for a in m.attachments] == [
        ("照片.jpg", "image/jpeg", b"\xff\xd8\xff")
    ]


def test_html_only_mail_is_cleaned_and_wrong_charset_read_anyway():
    markup = "<html><head><style>p{}</style></head><body><p>路灯坏了</p><script>alert('x')</script><p>请修理&amp;谢谢</p></body></html>"
    raw = (
        "From: a@example.test\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + markup
    ).encode()
    m = parse(raw)
    assert "alert" not in m.text and "<" not in m.text and "路灯坏了" in m.text and "请修理&谢谢" in m.text
    assert any("只有 HTML 正文" in n for n in m.notes)
    wrong = (
        b"From: a@example.test\r\nSubject: y\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "停电了".encode("gb18030")
    )
    m = parse(wrong)
    assert m.text == "停电了" and m.notes == ["声明为 utf-8，实为 gb18030"]
    unknown = (
        b"From: a@example.test\r\nSubject: z\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\nhello"
    )
    assert parse(unknown).text == "hello"


def test_hostile_mail_refused():
    nested = "From: a@example.test\r\nSubject: n\r\n"
    inner = "Content-Type: text/plain\r\n\r\nhi\r\n"
    for i in range(8):
        inner = f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n{inner}--b{i}--\r\n"
    with pytest.raises(MailRefused, match="嵌套超过"):
        parse((nested + inner).encode())
    with pytest.raises(MailRefused, match="超过上限"):
        parse(b"From: a@example.test\r\n\r\n" + b"x" * (MAX_BYTES + 1))
    with pytest.raises(MailRefused, match="发件人"):
        parse(b"Subject: none\r\n\r\nbody")


def test_subject_sent_as_raw_8bit_gbk_or_utf8_reads_right():
    """Some Chinese mail clients send the subject as raw bytes, not RFC 2047: GBK, or UTF-8."""
    body = b"\r\nContent-Type: text/plain; charset=gbk\r\n\r\n" + "路灯坏了一个星期".encode("gbk") + b"\r\n"
    gbk = parse(b"From: a@citizen.test\r\nSubject: " + "路灯坏了".encode("gbk") + body)
    assert gbk.subject == "路灯坏了" and "邮件标题未按标准编码，按 GB18030 读取" in gbk.notes
    assert gbk.text == "路灯坏了一个星期"
    utf8 = parse(b"From: a@citizen.test\nSubject: Re: " + "补充 KM-20261202-0001".encode() + b"\n\nx\n")
    assert (utf8.subject, utf8.case_number, utf8.notes) == ("Re: 补充 KM-20261202-0001", "KM-20261202-0001", [])


def test_nul_characters_are_removed_and_noted():
    raw = b"From: a@citizen.test\r\nSubject: a\x00b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nc\x00d\r\n"
    got = parse(raw)
    assert (got.subject, got.text) == ("ab", "cd") and "已去除 NUL 字符" in got.notes
