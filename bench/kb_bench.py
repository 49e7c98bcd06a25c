"""Knowledge-base search: p50/p99 latency over 100,000 generated Chinese articles, on SQLite and on
PostgreSQL, against a reference in the same run. Not a test.

- corpus: --articles articles (default 100,000) generated from a fixed seed: a place, a matter and an
  action in the title (e.g. "大理市住房公积金提取办理指南"), a body of 4-8 sentences in the style of
  government Q&A. Inserted in bulk, indexed with the same jieba tokens the service writes.
- ours: ``app.kb.service.search`` as the API calls it: jieba segmentation of the query, the ranked
  full-text query with status/scope filters and the category boost, and loading the articles.
- reference: the database's own full-text query alone on the same index, with the query's words
  given ready-segmented (no segmentation, no filters, no loading): FTS5 ``MATCH … ORDER BY bm25``
  on SQLite, ``tsv @@ to_tsquery('simple', …) ORDER BY ts_rank`` on PostgreSQL.
- each query runs ours and the reference interleaved (the order alternates), --rounds times; the
  report gives p50/p99 of each and the ratio of the medians, the machine's load average, and how
  often the top hit is the article the query was written for (same place, matter and action).

    .venv/bin/python bench/kb_bench.py                    # 100,000 articles, both databases
    .venv/bin/python bench/kb_bench.py --articles 20000 --backends sqlite
writes bench/results/kb.json and kb.md
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, text  # noqa: E402

from app.db import Database  # noqa: E402
from app.kb import search as fts  # noqa: E402
from app.kb import service  # noqa: E402
from app.kb.models import KbArticle  # noqa: E402
from app.kb.segment import index_text, query_terms, warm_up  # noqa: E402
from app.migrate import upgrade  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PG_ADMIN = os.environ.get("HOTLINE_TEST_PG", "postgresql://root@127.0.0.1:5432/test")
PG_BASE = "postgresql+asyncpg://root@127.0.0.1:5432/"

PLACES = ["昆明市", "大理市", "曲靖市", "玉溪市", "保山市", "昭通市", "丽江市", "普洱市", "临沧市", "楚雄州",
          "红河州", "文山州", "西双版纳州", "德宏州", "怒江州", "迪庆州"]  # fmt: skip
MATTERS = {
    "0105": ["住房公积金", "物业费", "电梯维修", "小区停车位", "业主委员会"],
    "0101": ["自来水", "停水", "水表", "二次供水", "水费"],
    "0102": ["停电", "电费", "电表", "充电桩", "线路改造"],
    "0103": ["燃气", "天然气", "燃气表", "燃气安全检查"],
    "0104": ["路灯", "井盖", "人行道", "排水管网", "公共厕所"],
    "0201": ["公交卡", "公交线路", "地铁", "老年人乘车"],
    "0202": ["出租车", "网约车", "拒载", "绕路"],
    "0203": ["驾驶证", "行驶证", "违章停车", "交通信号灯"],
    "0301": ["施工噪声", "广场舞噪声", "商铺噪声"],
    "0302": ["油烟", "扬尘", "焚烧垃圾"],
    "0401": ["拖欠工资", "劳动合同", "工伤认定"],
    "0402": ["社保卡", "养老保险", "医保报销", "异地就医备案", "失业保险金"],
    "0403": ["创业担保贷款", "就业补贴", "职业技能培训"],
    "0501": ["预付卡退费", "网购退货", "虚假宣传"],
    "0502": ["食品过期", "餐馆卫生", "外卖安全"],
    "0601": ["入学报名", "学籍转移", "义务教育", "校外培训"],
}
ACTIONS = [
    "办理",
    "提取",
    "申请",
    "补办",
    "挂失",
    "查询",
    "缴费",
    "变更",
    "注销",
    "投诉",
    "报修",
    "转移",
    "认定",
    "退费",
]
SENTENCES = [
    "根据{place}相关规定，{matter}{action}需要本人携带有效身份证件到{office}办理。",
    "市民也可以通过政务服务网或手机应用在线{action}，审核通过后{days}个工作日内办结。",
    "{matter}{action}所需材料包括身份证、申请表以及{paper}，材料不全的将一次性告知。",
    "如对{matter}有疑问，可拨打12345政务服务便民热线或{office}服务电话咨询。",
    "办理时间为工作日上午九点至下午五点，节假日顺延。",
    "{office}地址位于{place}政务服务中心{floor}楼{window}号窗口。",
    "逾期未{action}的，将按照有关规定处理，请市民及时关注通知。",
    "符合条件的{people}可以享受相应的政策支持，具体标准以当年公布为准。",
    "{matter}相关问题属于{office}职责范围，热线将按规定转交承办单位办理。",
    "近期部分市民反映{matter}问题，{office}已开展专项检查并公布结果。",
]
OFFICES = ["政务服务中心", "住房公积金管理中心", "人力资源和社会保障局", "市场监督管理局", "供水公司", "供电局",
           "燃气公司", "交通运输局", "生态环境局", "教育体育局", "公安局交通管理支队", "住房和城乡建设局"]  # fmt: skip
PAPERS = ["户口簿", "结婚证", "房产证明", "劳动合同", "银行卡", "缴费凭证", "照片两张"]
PEOPLE = ["退休职工", "低保户", "高校毕业生", "残疾人", "困难家庭", "新市民"]
QUERY_FORMS = [
    "{matter}{action}",
    "{matter}怎么{action}",
    "请问{place}{matter}{action}需要什么材料",
    "喂你好我想问一下{matter}要怎么{action}啊",
    "我是{place}的，{matter}{action}去哪里办",
]


def article(rng: random.Random, i: int) -> tuple[dict[str, Any], tuple[str, str, str]]:
    cat = rng.choice(list(MATTERS))
    matter, action, place = rng.choice(MATTERS[cat]), rng.choice(ACTIONS), rng.choice(PLACES)
    fill = lambda s: s.format(  # noqa: E731
        place=place, matter=matter, action=action, office=rng.choice(OFFICES), days=rng.randint(1, 20),
        paper=rng.choice(PAPERS), floor=rng.randint(1, 5), window=rng.randint(1, 40), people=rng.choice(PEOPLE),
    )  # fmt: skip
    sentences = [fill(s) for s in rng.sample(SENTENCES, rng.randint(4, 8))]
    body = "".join(sentences)
    title = f"{place}{matter}{action}{rng.choice(['指南', '须知', '问答', '流程', '说明'])}"
    return {
        "title": title, "body": body, "keywords": f"{matter} {action}", "category_code": cat,
        "platform": None, "owner_unit": None, "status": "published", "version": 1, "cited": 0,
        "updated_by": "bench", "created_at": datetime.now(UTC), "updated_at": datetime.now(UTC),
        "_sentences": sentences,
    }, (place, matter, action)  # fmt: skip


def corpus(n: int, seed: int = 12345) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
    rng = random.Random(seed)
    rows, keys = [], []
    for i in range(n):
        row, key = article(rng, i)
        rows.append(row)
        keys.append(key)
    return rows, keys


def queries(
    keys: list[tuple[str, str, str]], n: int, seed: int = 7
) -> list[tuple[str, tuple[str, str, str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        place, matter, action = rng.choice(keys)
        out.append(
            (
                rng.choice(QUERY_FORMS).format(place=place, matter=matter, action=action),
                (place, matter, action),
            )
        )
    return out


@functools.cache
def _segmented(sentence: str) -> str:
    return index_text(sentence)


def tokens_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The index rows the service would write (app.kb.segment.index_text). A body is segmented sentence by
    sentence, each distinct sentence once: jieba splits at the full stop anyway, so the tokens are the
    same as for the whole body, and 100,000 bodies take seconds instead of many minutes here."""
    return [
        {"id": i + 1, "title": index_text(r["title"]), "keywords": index_text(r["keywords"]),
         "body": " ".join(_segmented(x) for x in r["_sentences"])}
        for i, r in enumerate(rows)
    ]  # fmt: skip


async def load(db: Database, rows: list[dict[str, Any]], tokens: list[dict[str, Any]]) -> dict[str, float]:
    """Bulk insert the articles, then their index rows; seconds of each part."""
    t0 = time.perf_counter()
    plain = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
    async with db.sessionmaker() as s:
        for i in range(0, len(plain), 5000):
            await s.execute(insert(KbArticle), plain[i : i + 5000])
        await s.commit()
    t2 = time.perf_counter()
    async with db.sessionmaker() as s:
        pg = fts.dialect(s) == "postgresql"
        sql = (
            f"INSERT INTO {fts.FTS_TABLE} (article_id, tsv) VALUES (:id, {fts.PG_TSV})"
            if pg
            else f"INSERT INTO {fts.FTS_TABLE} (rowid, title, keywords, body) VALUES (:id, :title, :keywords, :body)"
        )
        for i in range(0, len(tokens), 5000):
            await s.execute(text(sql), tokens[i : i + 5000])
        await s.commit()
        if pg:
            await s.execute(text("ANALYZE"))
            await s.commit()
    t3 = time.perf_counter()
    return {"insert_s": t2 - t0, "index_s": t3 - t2}


async def reference(s: Any, pg: bool, terms: list[str]) -> list[int]:
    if pg:
        sql = (
            f"SELECT article_id FROM {fts.FTS_TABLE}, to_tsquery('simple', :q) q "
            "WHERE tsv @@ q ORDER BY ts_rank(tsv, q, 1) DESC LIMIT 10"
        )
        return [r[0] for r in (await s.execute(text(sql), {"q": fts.tsquery(terms)})).all()]
    sql = f"SELECT rowid FROM {fts.FTS_TABLE} WHERE {fts.FTS_TABLE} MATCH :q ORDER BY bm25({fts.FTS_TABLE}) LIMIT 10"
    return [r[0] for r in (await s.execute(text(sql), {"q": fts.fts5_query(terms)})).all()]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def run_backend(
    name: str, url: str, rows: list[dict[str, Any]], tokens: list[dict[str, Any]], qs: list[Any], rounds: int
) -> dict[str, Any]:
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        timing = await load(db, rows, tokens)
        print(f"{name}: loaded {len(rows)} articles {timing}", flush=True)
        ours: list[float] = []
        ref: list[float] = []
        top_ok = 0
        async with db.read_sessionmaker() as s:
            pg = fts.dialect(s) == "postgresql"
            for q, _ in qs[:20]:  # warm the caches (and jieba's) before measuring
                await service.search(s, q, statuses=("published",), platforms=None, limit=10)
                await reference(s, pg, query_terms(q))
            for r in range(rounds):
                for i, (q, key) in enumerate(qs):
                    terms = query_terms(q)  # the reference gets its words ready-made

                    async def a(q: str = q) -> Any:
                        t = time.perf_counter()
                        res = await service.search(s, q, statuses=("published",), platforms=None, limit=10)
                        ours.append(time.perf_counter() - t)
                        return res

                    async def b(terms: list[str] = terms) -> Any:
                        t = time.perf_counter()
                        res = await reference(s, pg, terms)
                        ref.append(time.perf_counter() - t)
                        return res

                    if (i + r) % 2:
                        _, hits = await a()
                        await b()
                    else:
                        await b()
                        _, hits = await a()
                    if r == 0 and hits:
                        title = hits[0][0].title
                        top_ok += all(k in title for k in key[1:]) and (key[0] in title or key[0] not in q)
        return {
            "backend": name, "articles": len(rows), "queries": len(qs), "rounds": rounds, **{k: round(v, 2) for k, v in timing.items()},
            "ours_p50_ms": round(pct(ours, 50) * 1000, 2), "ours_p99_ms": round(pct(ours, 99) * 1000, 2),
            "ref_p50_ms": round(pct(ref, 50) * 1000, 2), "ref_p99_ms": round(pct(ref, 99) * 1000, 2),
            "ratio_p50": round(statistics.median(ours) / statistics.median(ref), 2),
            "top1_matches_query": round(top_ok / len(qs), 3),
        }  # fmt: skip
    finally:
        await db.dispose()


async def pg_db() -> tuple[str, str]:
    import asyncpg

    name = f"kb_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    return name, PG_BASE + name


async def drop_pg(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def report(
    args: Any, qs: list[Any], out: list[dict[str, Any]], load_before: tuple[float, ...], segment_s: float
) -> None:
    meta = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.machine(),
        "cpus": os.cpu_count(), "python": platform.python_version(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()], "command": "python bench/kb_bench.py " + " ".join(sys.argv[1:]),
        "sample_queries": [q for q, _ in qs[:5]], "segment_s": segment_s,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kb.json").write_text(
        json.dumps({"meta": meta, "results": out}, ensure_ascii=False, indent=2) + "\n"
    )
    lines = [
        "# Knowledge-base search benchmark", "",
        f"Run {meta['run_at']} on {meta['machine']}, {meta['cpus']} CPUs, Python {meta['python']}; "
        f"load average before {meta['load_before']}, after {meta['load_after']}.", "",
        f"`{meta['command']}` — {args.queries} queries × {args.rounds} rounds, ours and the reference interleaved.", "",
        "ours = `app.kb.service.search` (jieba segmentation + ranked full-text query with filters + loading the "
        "articles); reference = the database's own full-text query alone on the same index, words given "
        "ready-segmented.", "",
        f"Segmenting the corpus (jieba, once for both databases): {segment_s} s.", "",
        "| backend | articles | insert s | index s | ours p50 ms | ours p99 ms | ref p50 ms | ref p99 ms | ours/ref p50 | top-1 is the asked article |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in out:
        lines.append(
            f"| {r['backend']} | {r['articles']} | {r['insert_s']} | {r['index_s']} | {r['ours_p50_ms']} | "
            f"{r['ours_p99_ms']} | {r['ref_p50_ms']} | {r['ref_p99_ms']} | {r['ratio_p50']} | {r['top1_matches_query']} |"
        )
    lines += ["", "Sample queries: " + "；".join(meta["sample_queries"]), ""]
    (RESULTS / "kb.md").write_text("\n".join(lines))
    print("\n".join(lines))


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    warm_up()
    load_before = os.getloadavg()
    rows, keys = corpus(args.articles)
    qs = queries(keys, args.queries)
    t = time.perf_counter()
    tokens = tokens_of(rows)
    segment_s = round(time.perf_counter() - t, 1)
    print(
        f"segmented {len(rows)} articles in {segment_s} s ({_segmented.cache_info().currsize} distinct sentences)",
        flush=True,
    )
    out = []
    for name in args.backends.split(","):
        if name == "sqlite":
            tmp = tempfile.mkdtemp(prefix="kb-bench-")
            out.append(
                await run_backend(name, f"sqlite+aiosqlite:///{tmp}/kb.db", rows, tokens, qs, args.rounds)
            )
        else:
            dbname, url = await pg_db()
            try:
                out.append(await run_backend(name, url, rows, tokens, qs, args.rounds))
            finally:
                await drop_pg(dbname)
        print(json.dumps(out[-1], ensure_ascii=False), flush=True)
        report(args, qs, out, load_before, segment_s)  # written after each backend


if __name__ == "__main__":
    asyncio.run(main())
