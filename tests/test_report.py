"""/report and /myreports, end to end through the real Application and the Bot API sandbox."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw
from sqlmodel import col, select

from bot.playback import Person
from models.tables import Outbox, ReviewStatus, Role
from tests.conftest import World
from tests.factories import (
    ASK_AFTER,
    ASK_AREA,
    ASK_BEFORE,
    ASK_COST,
    ASK_KIND,
    ASK_LIKELY_AFTER,
    ASK_LIKELY_BEFORE,
    ASK_SEVERITY_AFTER,
    ASK_SEVERITY_BEFORE,
    ASK_SHARE,
    ASK_TEXT,
    ASK_WORKERS,
    DESCRIPTION,
    STALE,
    STEPS,
    SUMMARY,
    answer_until,
    cast,
    expect,
    join,
    make_invite,
    report,
    reports,
    tap,
)


def picture(text: str, color: str = "#d9534f", kind: str = "JPEG") -> bytes:
    image = Image.new("RGB", (320, 200), color)
    ImageDraw.Draw(image).text((20, 90), text, fill="white")
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def outbox_keys(world: World, prefix: str = "") -> list[str]:
    with world.database.session() as session:
        keys = session.exec(select(Outbox.key).order_by(col(Outbox.id))).all()
    return [k for k in keys if k.startswith(prefix)]


# -- the whole journey -----------------------------------------------------------------------


async def test_employer_reports_with_photos_and_staff_are_notified(world: World) -> None:
    c = await cast(world)
    before, after = picture("TRUOC"), picture("SAU", "#5cb85c")
    p = c.employer
    await expect(p, await p.say("📝 Báo cáo cải thiện"), ASK_AREA)
    assert "Chỉ mất khoảng hai phút" in p.last_text()
    assert "Báo cáo cải thiện · câu 1/10" in p.last_text()  # where she is, out of how many
    await expect(p, await tap(p, "📦 Lưu giữ, vận chuyển"), ASK_KIND)
    assert "câu 2/10" in p.last_text()
    # The kinds of this area, then "Other / skip".
    assert [label for label, _ in p.account.buttons()] == [
        "Giá, kệ nhiều tầng",
        "Xe đẩy, bánh xe",
        "Lối đi thông thoáng, kẻ vạch",
        "Tời, băng chuyền, dụng cụ nâng",
        "Thùng có tay cầm, chia nhỏ kiện",
        "Nâng, hạ ở tầm ngang hông",
        "Khác / bỏ qua",
    ]
    await expect(p, await tap(p, "Xe đẩy, bánh xe"), ASK_TEXT)
    assert "câu 3/10" in p.last_text()
    await expect(p, await p.say(DESCRIPTION), ASK_BEFORE)
    await expect(p, await p.send("photo", before), "📷 Đã lưu ảnh.")
    assert ASK_AFTER in p.last_text()
    await expect(p, await p.send("photo", after), ASK_COST)
    await expect(p, await p.say("1,5 triệu"), ASK_WORKERS)
    assert "doanh nghiệp có 12 người lao động" in p.last_text()
    await expect(p, await p.say("8"), ASK_LIKELY_BEFORE)
    await expect(p, await tap(p, "dễ xảy ra"), ASK_SEVERITY_BEFORE)
    assert "câu 8/10" in p.last_text()  # severity belongs to the risk question it follows
    await expect(p, await tap(p, "nghiêm trọng"), ASK_LIKELY_AFTER)
    await expect(p, await tap(p, "ít khả năng"), ASK_SEVERITY_AFTER)
    await expect(p, await tap(p, "nhẹ"), ASK_SHARE)
    assert "câu 10/10" in p.last_text()
    assert [label for label, _ in p.account.buttons()] == [
        "Có, nêu tên doanh nghiệp",
        "Có, không nêu tên",
        "Không",
    ]
    # Shared, with photos: who is in them decides whether the photos may be published.
    await expect(p, await tap(p, "Có, nêu tên doanh nghiệp"), "Trong ảnh có người không?")
    assert [label for label, _ in p.account.buttons()] == [
        "Trong ảnh không có người",
        "Có, và họ đã đồng ý",
        "Có, nhưng chưa hỏi ý kiến họ",
    ]
    await expect(p, await p.say("có"), "vui lòng chọn bằng các nút")
    summary = await expect(p, await tap(p, "Có, và họ đã đồng ý"), SUMMARY)
    assert summary.plain.splitlines()[2:11] == [
        "Lĩnh vực: 📦 Lưu giữ, vận chuyển",
        "Loại cải thiện: Xe đẩy, bánh xe",
        f"Nội dung cải thiện: {DESCRIPTION}",
        "Ảnh: trước ✔, sau ✔",
        "Chi phí: 1.500.000 đ",
        "Số người lao động được hưởng lợi: 8",
        "Rủi ro trước: dễ xảy ra × nghiêm trọng = 6/9",
        "Rủi ro sau: ít khả năng × nhẹ = 1/9",
        "Chia sẻ làm điển hình tốt: có, nêu tên doanh nghiệp",
    ]
    stored = report(world)
    assert stored.status == ReviewStatus.DRAFT and stored.draft_step == "summary"
    await tap(p, "✅ Xác nhận và gửi")
    assert "Cảm ơn Anh/Chị! Báo cáo đã được gửi đến Trung tâm ATVSLĐ Đà Nẵng" in p.last_text()
    assert p.texts()[-2].startswith(f"✅ Đã gửi báo cáo #{stored.id}")
    assert p.account.buttons(p.account.messages()[-2]) == []  # the card cannot be sent twice

    stored = report(world)
    assert stored.status == ReviewStatus.SUBMITTED and stored.submitted_at == world.clock()
    assert (stored.area_code, stored.kind_code) == ("storage", "carts-trolleys")
    assert stored.description == DESCRIPTION
    assert (stored.cost_vnd, stored.cost_band, stored.workers_benefiting) == (1_500_000, "1m_5m", 8)
    assert (stored.risk_before_likelihood, stored.risk_before_severity) == (3, 2)
    assert (stored.risk_before_score, stored.risk_after_score) == (6, 1)
    assert (stored.share_consent, stored.people_shown) == ("named", "agreed")
    assert stored.source == "telegram"  # made on Telegram (Zalo's are "zalo")
    # The photos on disk are the reporter's pictures re-encoded from their pixels (models/media),
    # beside the Telegram file ids of what was sent.
    media = world.settings.media_dir
    for path in (stored.photo_before_path, stored.photo_after_path):
        with Image.open(media / path) as stored_photo:  # type: ignore[operator]
            assert (stored_photo.format, stored_photo.size) == ("JPEG", (320, 200))
    assert world.sandbox.files[stored.photo_before_file_id].data == before  # type: ignore[index]

    assert (await world.drain()).sent == 3
    s = c.staff
    photos = [m for m in s.account.messages() if m.method == "sendPhoto"]
    assert [m.caption for m in photos] == [
        f"Báo cáo #{stored.id}: Trước",
        f"Báo cáo #{stored.id}: Sau",
    ]
    kept = (media / stored.photo_before_path).read_bytes()  # type: ignore[operator]
    assert world.sandbox.files[photos[0].photo].data == kept  # type: ignore[index]
    notice = s.account.messages()[-1]
    assert notice.plain.startswith(f"📝 Báo cáo cải thiện mới #{stored.id}\nXưởng mộc Hòa Phát")
    assert "Người báo cáo: chủ doanh nghiệp, An" in notice.plain
    assert [label for label, _ in s.account.buttons(notice)] == [
        "✅ Xác nhận",
        "⭐ Điển hình tốt",
        "❓ Đặt câu hỏi",
    ]
    assert (await world.drain()).sent == 0  # each notice once


async def test_a_worker_reports_in_english_without_naming_the_enterprise(world: World) -> None:
    c = await cast(world)
    await join(world, 201, make_invite(world, Role.WORKER, enterprise_id=c.enterprise), "English")
    w = world.user(201)
    assert ["📝 Report an improvement", "🗂 My reports"] in w.account.reply_keyboard()  # type: ignore[operator]
    await expect(w, await w.say("/report"), "Which area is your improvement about?")
    await expect(w, await tap(w, "🪑 Workstation design"), "Which kind of improvement is it?")
    await expect(w, await tap(w, "Other / skip"), "What did you improve?")
    await w.say("Chairs with backrests for the sewing line.")
    await tap(w, "🚫 No photo")
    await expect(w, await w.send("document", picture("AFTER", kind="PNG"), "after.png"), "cost")
    await expect(w, await tap(w, "Free"), "How many workers benefit")
    await w.say("0")
    await tap(w, "possible")
    await tap(w, "minor")
    await tap(w, "unlikely")
    await expect(w, await tap(w, "minor"), "May we share this")
    assert [label for label, _ in w.account.buttons()] == [
        "Yes, without the enterprise's name",
        "No",
    ]
    await expect(w, await tap(w, "Yes, without the enterprise's name"), "people in the photos")
    summary = await expect(w, await tap(w, "Yes, but not asked"), "Cost: Free")
    assert "Workers who benefit: 0" in summary.plain
    await tap(w, "✅ Confirm and send")
    assert "Thank you! Your report went to" in w.last_text()
    stored = report(world)
    assert (stored.cost_vnd, stored.cost_band, stored.share_consent) == (0, "free", "anonymous")
    assert stored.people_shown == "not_agreed" and stored.kind_code is None
    assert stored.photo_before_path is None and stored.photo_after_path.endswith(".jpg")  # type: ignore[union-attr]
    await world.drain()
    # Staff learn that a worker reported, never which one.
    notice = c.staff.account.messages()[-1].plain
    assert "Người báo cáo: một người lao động" in notice and "An" not in notice.split("\n")[2]


# -- edits from the summary ------------------------------------------------------------------


async def test_every_field_can_be_edited_from_the_summary(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p)
    edits: list[tuple[str, list[tuple[str, object]], str]] = [
        # A new area asks its kind again: the old one belonged to the old area.
        (
            "Lĩnh vực",
            [("tap", "⚙️ An toàn máy móc"), ("tap", "Che chắn bộ phận chuyển động")],
            "Lĩnh vực: ⚙️ An toàn máy móc\nLoại cải thiện: Che chắn bộ phận chuyển động",
        ),
        ("Loại cải thiện", [("tap", "Khác / bỏ qua")], "Loại cải thiện: —"),
        ("Nội dung cải thiện", [("say", "Che chắn dây curoa máy cưa.")], "Che chắn dây curoa"),
        ("Ảnh trước", [("photo", picture("B"))], "Ảnh: trước ✔, sau —"),
        ("Ảnh sau", [("photo", picture("A"))], "Ảnh: trước ✔, sau ✔"),
        ("Chi phí", [("tap", "Trên 5 triệu")], "Chi phí: Trên 5 triệu"),
        ("Số người", [("say", "40"), ("tap", "Đúng, 40")], "được hưởng lợi: 40"),
        ("Rủi ro trước", [("tap", "có thể xảy ra"), ("tap", "nhẹ")], "có thể xảy ra × nhẹ = 2/9"),
        ("Rủi ro sau", [("tap", "ít khả năng"), ("tap", "rất nghiêm trọng")], "= 3/9"),
        ("Chia sẻ", [("tap", "Không")], "Chia sẻ làm điển hình tốt: không"),
    ]
    for field, answers, shown in edits:
        await tap(p, "✏️ Sửa")
        label = next(
            text for text, _ in p.account.buttons(p.account.messages()[-1]) if field in text
        )
        await tap(p, label)
        for how, value in answers:
            if how == "tap":
                await tap(p, str(value))
            elif how == "say":
                await p.say(str(value))
            else:
                await p.send("photo", value)
        assert SUMMARY in p.last_text(), (field, p.last_text())
        assert shown in p.last_text(), (field, p.last_text())
    await tap(p, "✏️ Sửa")
    await tap(p, "↩️ Quay lại")  # the same card, its buttons back
    assert SUMMARY in p.last_text()
    assert next(label for label, _ in p.account.buttons()) == "✅ Xác nhận và gửi"
    await tap(p, "✅ Xác nhận và gửi")
    stored = report(world)
    assert stored.status == ReviewStatus.SUBMITTED
    assert (stored.area_code, stored.cost_vnd, stored.cost_band) == ("machine", None, "over_5m")
    assert (stored.workers_benefiting, stored.share_consent) == (40, "no")
    assert (stored.risk_before_score, stored.risk_after_score) == (2, 3)
    assert stored.photo_before_path and stored.photo_after_path


# -- bad input -------------------------------------------------------------------------------


async def test_wrong_kinds_of_message_get_a_reprompt_and_nothing_is_lost(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await p.say("/report")
    for kind, args in (("sticker", ()), ("voice", ()), ("location", (16.05, 108.2))):
        await expect(p, await p.send(kind, *args), "Anh/Chị vui lòng chọn bằng các nút.")
        assert ASK_AREA in p.last_text()
    await expect(p, await p.say("kho hàng"), "chọn bằng các nút")
    await expect(p, await tap(p, "📦 Lưu giữ, vận chuyển"), ASK_KIND)
    await expect(p, await p.say("giá kệ"), "chọn bằng các nút")
    assert ASK_KIND in p.last_text()
    await tap(p, "Khác / bỏ qua")
    await expect(p, await p.send("sticker"), "Anh/Chị vui lòng trả lời bằng chữ.")
    await expect(p, await p.send("photo", picture("X")), "mô tả cải thiện bằng lời trước")
    await expect(p, await p.say("   "), "Anh/Chị vui lòng mô tả cải thiện bằng chữ.")
    await expect(p, await p.say("abc"), "ít nhất 5 ký tự")
    await expect(p, await p.say(DESCRIPTION), ASK_BEFORE)
    await expect(p, await p.say("không có"), "Anh/Chị vui lòng gửi ảnh, hoặc bấm nút")
    await expect(p, await p.send("voice"), "vui lòng gửi ảnh")
    pdf = await p.send("document", b"%PDF-1.4 a report", "report.pdf", "application/pdf")
    await expect(p, pdf, "Anh/Chị vui lòng gửi ảnh (JPEG hoặc PNG)")
    await tap(p, "🚫 Không có ảnh")
    await tap(p, "🚫 Chưa có ảnh")
    for typed, refusal in (
        ("-500000", "Chi phí không thể là số âm"),
        ("rẻ thôi", "vui lòng nhập số tiền (đồng)"),
        ("1,5", "Tôi chưa rõ số tiền này"),
        ("99999999999", "Số tiền này vượt quá 10.000.000.000 đ"),
    ):
        await expect(p, await p.say(typed), refusal)
        assert ASK_COST in p.last_text()
    await expect(p, await p.send("sticker"), "vui lòng nhập số tiền, hoặc chọn một khoảng")
    await expect(p, await p.say("500.000"), ASK_WORKERS)
    for typed, refusal in (
        ("-3", "không thể là số âm"),
        ("2,5", "số nguyên"),
        ("nhiều", "bằng một số nguyên, ví dụ 12"),
    ):
        await expect(p, await p.say(typed), refusal)
    await expect(p, await p.say("30"), "Anh/Chị nhập 30 người, nhưng doanh nghiệp có 12")
    assert report(world).workers_benefiting is None  # not stored until confirmed
    await expect(p, await tap(p, "Không, tôi sẽ sửa lại"), ASK_WORKERS)
    await expect(p, await p.say("30"), "Con số 30 có đúng không?")
    await expect(p, await p.say("10"), ASK_LIKELY_BEFORE)  # typing a new number works too
    await expect(p, await p.say("cao"), "chọn bằng các nút")
    await tap(p, "dễ xảy ra")
    await expect(p, await p.send("sticker"), ASK_SEVERITY_BEFORE)
    await tap(p, "rất nghiêm trọng")
    await tap(p, "ít khả năng")
    await tap(p, "nhẹ")
    await expect(p, await p.say("có"), "chọn bằng các nút")
    await tap(p, "Không")
    await expect(p, await p.say("ok"), "Anh/Chị vui lòng dùng các nút bên dưới báo cáo.")
    stored = report(world)
    assert (stored.description, stored.cost_vnd, stored.workers_benefiting) == (
        DESCRIPTION,
        500_000,
        10,
    )
    assert (stored.risk_before_score, stored.risk_after_score) == (9, 1)
    assert stored.photo_before_path is None and stored.status == ReviewStatus.DRAFT


async def test_too_long_text_is_refused_and_the_earlier_text_kept(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p, ASK_TEXT)
    await expect(p, await p.say("x" * 1001), "1.001 ký tự, tối đa chỉ 1.000 ký tự")
    assert report(world).description is None
    await expect(p, await p.say("y" * 1000), ASK_BEFORE)  # exactly the limit fits
    await answer_until_summary_from_photo(p)
    await tap(p, "✏️ Sửa")
    await tap(p, "Nội dung cải thiện")
    await expect(p, await p.say("z" * 5000), "tôi vẫn giữ nội dung Anh/Chị đã viết trước đó")
    assert report(world).description == "y" * 1000


async def answer_until_summary_from_photo(p: Person) -> None:
    started = False
    for how, value, prompt in STEPS:
        if prompt == ASK_AFTER:
            started = True
        if started:
            await expect(p, await (p.say(value) if how == "say" else tap(p, value)), prompt)


async def test_photos_over_10_mb_are_refused_and_png_documents_accepted(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p, ASK_BEFORE)
    huge = b"\xff\xd8\xff" + b"\0" * (10 * 1024 * 1024)
    await expect(p, await p.send("photo", huge), "Ảnh này quá lớn (10 MB). Mỗi ảnh tối đa 10 MB")
    assert ASK_BEFORE in p.last_text()
    png = picture("PNG", kind="PNG")
    await expect(p, await p.send("document", png, "truoc.png", "image/png"), ASK_AFTER)
    stored = report(world)
    # Without transparency, a PNG is kept as a JPEG like any photo.
    assert stored.photo_before_path.endswith(".jpg")  # type: ignore[union-attr]
    with Image.open(world.settings.media_dir / stored.photo_before_path) as kept:  # type: ignore[operator]
        assert kept.size == (320, 200)
    assert len(list(world.settings.media_dir.rglob("*"))) == 2  # the folder and one photo


async def test_stale_and_forged_buttons_store_nothing(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p, ASK_TEXT)
    area_prompt = next(m for m in p.account.messages() if ASK_AREA in m.plain)
    await p.press_data(area_prompt.message_id, "rep:area:machine")  # pressed again, later
    assert p.answers()[-1] == STALE and ASK_TEXT in p.last_text()
    await p.press_data(area_prompt.message_id, "rep:area:../../etc")
    assert report(world).area_code == "storage"
    await p.say(DESCRIPTION)
    await tap(p, "🚫 Không có ảnh")
    await tap(p, "🚫 Chưa có ảnh")
    await p.say("0")
    await p.say("5")
    last = p.account.messages()[-1]
    await p.press_data(last.message_id, "rep:lik:before:7")
    await p.press_data(last.message_id, "rep:lik:after:1")
    assert (
        report(world).risk_before_likelihood is None and report(world).risk_after_likelihood is None
    )
    await tap(p, "dễ xảy ra")
    await p.press_data(p.account.messages()[-1].message_id, "rep:sev:before:0")
    assert report(world).risk_before_severity is None
    await tap(p, "nhẹ")
    await tap(p, "ít khả năng")
    await tap(p, "nhẹ")
    share = p.account.messages()[-1]
    await p.press_data(share.message_id, "rep:share:everyone")
    assert report(world).share_consent is None
    await tap(p, "Có, không nêu tên")
    summary = p.account.messages()[-1]
    await p.press_data(summary.message_id, "rep:ok:99999")
    await p.press_data(summary.message_id, "rep:ok:abc")
    assert report(world).status == ReviewStatus.DRAFT


async def test_a_workers_naming_button_is_refused_even_when_forged(world: World) -> None:
    c = await cast(world)
    await join(world, 202, make_invite(world, Role.WORKER, enterprise_id=c.enterprise))
    w = world.user(202)
    await answer_until(w, ASK_SHARE)
    await w.press_data(w.account.messages()[-1].message_id, "rep:share:named")
    assert w.answers()[-1] == STALE and report(world).share_consent is None


async def test_staff_and_strangers_cannot_report(world: World) -> None:
    c = await cast(world)
    await expect(c.staff, await c.staff.say("/report"), "Báo cáo cải thiện do doanh nghiệp gửi")
    await expect(c.staff, await c.staff.say("/myreports"), "do doanh nghiệp gửi")
    stranger = world.user(999)
    await expect(stranger, await stranger.say("/report"), "Để tham gia")
    await expect(stranger, await stranger.say("/myreports"), "Để tham gia")
    assert reports(world) == []


# -- conversations that survive --------------------------------------------------------------


async def test_a_restart_resumes_at_the_same_question_with_the_draft(world: World) -> None:
    c = await cast(world)
    await answer_until(c.employer, ASK_COST)
    await world.restart()
    p = world.user(101)  # the same person, talking to the new process
    await expect(p, await p.say("2 triệu"), ASK_WORKERS)
    await world.restart()
    await expect(p, await p.say("4"), ASK_LIKELY_BEFORE)
    for label in ("dễ xảy ra", "nghiêm trọng", "ít khả năng", "nhẹ", "Không"):
        await tap(p, label)
    await world.restart()
    await tap(p, "✅ Xác nhận và gửi")
    stored = report(world)
    assert stored.status == ReviewStatus.SUBMITTED
    assert (stored.description, stored.cost_vnd, stored.workers_benefiting) == (
        DESCRIPTION,
        2_000_000,
        4,
    )


async def test_the_same_confirmation_delivered_twice_stores_one_report(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p)
    summary = p.account.messages()[-1]
    data = next(d for label, d in p.account.buttons(summary) if label == "✅ Xác nhận và gửi")
    update = p.account.press(summary.message_id, data)  # queued once ...
    world.sandbox.inject_raw(update)  # ... and delivered again with the same update_id
    await world.deliver()
    assert [r.status for r in reports(world)] == [ReviewStatus.SUBMITTED]
    assert sum("Cảm ơn Anh/Chị! Báo cáo đã được gửi" in t for t in p.texts()) == 1
    assert outbox_keys(world, "report-submitted") == [f"report-submitted:{reports(world)[0].id}:1"]
    # A press on the old card after a restart answers the same.
    await world.restart()
    await world.user(101).press_data(summary.message_id, data)
    assert p.answers()[-1] == "Báo cáo này đã được gửi rồi."


async def test_cancel_deletes_the_draft_and_an_abandoned_draft_is_offered_again(
    world: World,
) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p, ASK_BEFORE)
    await p.send("photo", picture("B"))
    photo = world.settings.media_dir / report(world).photo_before_path  # type: ignore[operator]
    assert photo.exists()
    await expect(p, await p.say("/cancel"), "Đã hủy. Báo cáo chưa xong đã được xóa.")
    assert reports(world) == [] and not photo.exists()

    await answer_until(p, ASK_COST)  # abandoned here; the person leaves
    world.clock.advance(days=2)
    await expect(p, await p.say("/report"), "Anh/Chị có một báo cáo chưa xong (📦 Lưu giữ")
    assert "01/03/2027" in p.last_text()
    await expect(p, await tap(p, "▶️ Làm tiếp"), ASK_COST)
    await expect(p, await p.say("100k"), ASK_WORKERS)
    await p.say("📝 Báo cáo cải thiện")
    await expect(p, await tap(p, "🆕 Bắt đầu báo cáo mới"), ASK_AREA)
    assert reports(world) == []
    await answer_until(p)
    await expect(p, await tap(p, "✖ Hủy"), "Đã hủy. Báo cáo chưa xong đã được xóa.")
    assert reports(world) == []


async def test_another_journey_pauses_the_report_and_help_does_not(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p, ASK_WORKERS)
    await p.say("/help")
    await expect(p, await p.say("7"), ASK_LIKELY_BEFORE)  # still in the report
    before = len(p.texts())
    await p.say("/feedback")
    said = p.texts()[before:]
    # The report is paused, saying so, and what was asked runs at once (issue 14).
    assert "Tôi đã tạm dừng báo cáo" in said[0], said
    assert "hữu ích đến mức nào" in said[-1], said  # the survey's first question
    assert report(world).status == ReviewStatus.DRAFT and report(world).workers_benefiting == 7
    await p.say("/report")
    await expect(p, await tap(p, "▶️ Làm tiếp"), ASK_LIKELY_BEFORE)


# -- /myreports: list, edit and withdraw until reviewed --------------------------------------


async def test_myreports_lists_reports_and_edits_them_until_reviewed(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await expect(p, await p.say("🗂 Báo cáo của tôi"), "Chưa có báo cáo nào.")
    await answer_until(p)
    await tap(p, "✅ Xác nhận và gửi")
    first = reports(world)[-1]
    await world.drain()
    await answer_until(p, ASK_COST)  # a second one left unfinished
    listing = await expect(p, await p.say("/myreports"), "Báo cáo cải thiện của Xưởng mộc Hòa Phát")
    line = f"#{first.id} 📦 Lưu giữ, vận chuyển · Thứ Hai, 01/03/2027 — ⏳ đang chờ xem xét"
    assert line in listing.plain
    assert "📝 Anh/Chị có một báo cáo chưa xong" in listing.plain
    assert [label for label, _ in p.account.buttons(listing)] == [
        f"✏️ Sửa #{first.id}",
        f"↩️ Rút lại #{first.id}",
    ]
    await tap(p, f"✏️ Sửa #{first.id}")
    assert f"Báo cáo #{first.id} (đã gửi, chưa được xem xét)" in p.last_text()
    await tap(p, "✏️ Sửa một mục")
    await tap(p, "Số người hưởng lợi")
    await p.say("11")
    await expect(p, await tap(p, "✅ Xong"), "Đã lưu. Đơn vị hỗ trợ ATVSLĐ sẽ thấy")
    assert reports(world)[0].workers_benefiting == 11
    assert reports(world)[0].status == ReviewStatus.SUBMITTED
    await world.drain()
    assert "✏️ Doanh nghiệp đã sửa báo cáo" in c.staff.last_text()
    assert "được hưởng lợi: 11" in c.staff.last_text()

    # Withdraw, with a confirmation; staff are told; the buttons then refuse politely.
    await p.say("/myreports")
    await tap(p, f"↩️ Rút lại #{first.id}")
    await tap(p, "Không, giữ nguyên")
    assert p.last_text() == "Đã giữ lại. Không có gì thay đổi."
    await tap(p, f"↩️ Rút lại #{first.id}")
    confirm = p.account.messages()[-1]
    await tap(p, "Có, rút lại báo cáo")
    assert p.last_text() == f"Đã rút lại báo cáo #{first.id}."
    assert reports(world)[0].status == ReviewStatus.WITHDRAWN
    await p.press_data(confirm.message_id, f"myr:wdy:{first.id}")
    assert p.answers()[-1] == "Báo cáo này đã được rút lại rồi."
    await world.drain()
    assert "đã rút lại báo cáo" in c.staff.last_text()
    listing = await p.say("/myreports")
    assert listing is not None and "↩️ đã rút lại" in listing.plain
    assert p.account.buttons(listing) == []


async def test_another_persons_report_buttons_are_refused(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p)
    await tap(p, "✅ Xác nhận và gửi")
    mine = reports(world)[0]
    await join(world, 203, make_invite(world, Role.WORKER, enterprise_id=c.enterprise))
    w = world.user(203)
    await w.say("/myreports")  # the worker sees only their own: nothing
    assert "Chưa có báo cáo nào" in w.last_text()
    anchor = w.account.messages()[-1]
    for data in (f"myr:wd:{mine.id}", f"myr:wdy:{mine.id}", f"myr:edit:{mine.id}"):
        await w.press_data(anchor.message_id, data)
        assert w.answers()[-1] == STALE
    assert reports(world)[0].status == ReviewStatus.SUBMITTED


async def test_the_employer_sees_workers_reports_as_a_worker_never_by_name(world: World) -> None:
    """An improvement belongs to the enterprise: the employer's /myreports lists a worker's
    report too, but the sender is "a worker", as staff see it, never the worker's name."""
    c = await cast(world)
    world.user(203, "Trần Thị Bích Ngọc")
    await join(world, 203, make_invite(world, Role.WORKER, enterprise_id=c.enterprise))
    w = world.user(203)
    await answer_until(w, ASK_SHARE)
    await tap(w, "Có, không nêu tên doanh nghiệp")
    await tap(w, "✅ Xác nhận và gửi")
    worker_report = reports(world)[-1]
    listing = await expect(c.employer, await c.employer.say("/myreports"), f"#{worker_report.id}")
    assert "(do một người lao động gửi)" in listing.plain
    assert "Ngọc" not in listing.plain and "Trần" not in listing.plain
    assert c.employer.account.buttons(listing) == []  # only its reporter changes a report


async def test_a_kind_of_another_area_or_a_forged_one_stores_nothing(world: World) -> None:
    c = await cast(world)
    p = c.employer
    await answer_until(p, ASK_KIND)
    prompt = p.account.messages()[-1]
    for forged in ("rep:kind:machine-guards", "rep:kind:../../etc"):
        await p.press_data(prompt.message_id, forged)
        assert p.answers()[-1] == STALE and ASK_KIND in p.last_text()
    assert report(world).kind_code is None
    await expect(p, await tap(p, "Giá, kệ nhiều tầng"), ASK_TEXT)
    assert report(world).kind_code == "storage-racks"
    # A restart resumes at the next question, the kind kept.
    await p.say("/report")
    await expect(p, await tap(p, "▶️ Làm tiếp"), ASK_TEXT)
