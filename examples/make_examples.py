"""Makes examples/units.csv and examples/completions.csv: a fictional county
of about 300 units and a realistic first half of 2021 (most units on time,
some late, a few lagging). Deterministic; re-run after changing calendar.yaml:

    python examples/make_examples.py
"""
from __future__ import annotations

import csv
import random
from datetime import timedelta
from pathlib import Path

from aidcal.engine import calendar
from aidcal.engine.unit_types import TYPES, type_key

HERE = Path(__file__).parent

TOWNS = ["濉溪镇", "韩村镇", "刘桥镇", "五沟镇", "临涣镇", "南坪镇", "百善镇", "铁佛镇", "孙疃镇", "双堆集镇", "四铺镇"]
VILLAGES = "东岳 西湖 南庄 北孙 前李 后王 张楼 刘圩 陈集 赵庄 周寨 吴桥 郑楼 孟庄 马店 杨柳 黄桥 徐圩 朱庄 高集 林场 河湾 新集 大李".split()
EVIDENCE = {"monthly-report": "evidence/月点评季通报表.pdf", "spring-payout": "evidence/春季资助资金发放花名册.pdf",
            "integrity-month": "evidence/诚信宣传月活动记录.pdf"}


def roster(rng: random.Random) -> list[list[str]]:
    rows, n = [], 0

    def add(name, types, town, parent="", active_from=""):
        nonlocal n
        n += 1
        code = f"34062{n:05d}"
        contact = rng.choice("王李张刘陈杨赵黄周吴徐孙朱马胡郭") + rng.choice(["伟", "芳", "敏", "静", "强", "磊", "洋", "艳", "军", "杰"])
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else f"0561-{rng.randrange(6000000, 6999999)}"
        rows.append([code, name, types, town, parent, contact, phone, active_from])
        return code

    for town in TOWNS:
        short = town[:-1]
        center = add(f"{town}中心学校", "小学|初中", town)
        for village in rng.sample(VILLAGES, rng.randint(14, 18)):
            add(f"{short}镇{village}小学", "小学", town, center)
        add(f"{short}镇第一初级中学", "初中", town, center)
        add(f"{short}镇{rng.choice(VILLAGES)}初级中学", "初中", town, center)
        add(f"{town}中心幼儿园", "幼儿园", town, center)
        for village in rng.sample(VILLAGES, 4):
            add(f"{short}镇{village}幼儿园", "幼儿园", town, center)
    for name, types in [("濉溪中学", "高中"), ("濉溪第二中学", "初中|高中"), ("濉溪第三中学", "高中"), ("临涣中学", "高中"),
                        ("孙疃中学", "初中|高中"), ("濉溪县职业技术学校", "中职"), ("濉溪县城关职业学校", "中职"),
                        ("濉溪县特殊教育学校", "特教"), ("濉溪县实验小学", "小学"), ("濉溪县第二实验小学", "小学"),
                        ("濉溪县实验中学", "初中"), ("濉溪县第一幼儿园", "幼儿园"), ("濉溪县第二幼儿园", "幼儿园"),
                        ("濉溪县孟集九年一贯制学校", "小学|初中")]:
        add(name, types, "县直")
    add("濉溪县城东新区幼儿园", "幼儿园", "县直", "", "2021-03-01")  # opened in spring
    return rows


def completions(rng: random.Random, units: list[list[str]]) -> list[list[str]]:
    plan = calendar.read(HERE.parent / "calendar.yaml", 2021)
    cal = plan.work_calendar()
    laggards = set(rng.sample([u[0] for u in units], 12))
    assignees = [(u[0], sum(TYPES[type_key(t)][0] for t in u[2].split("|")), u[7]) for u in units]
    assignees.append((plan.authority_code, 64, ""))
    out = []
    for task in plan.tasks:
        for occ in task.occurrences(2021, cal, plan.roll):
            if occ.due.month > 6 or occ.due.year > 2021:
                continue
            for code, mask, active_from in assignees:
                if not mask & task.who_mask or (active_from and str(occ.due) < active_from):
                    continue
                roll = rng.random()
                if code in laggards and roll < 0.6:
                    continue  # lagging: never reported
                if roll < 0.03:
                    continue  # forgotten
                late = roll > (0.75 if code in laggards else 0.9)
                shift = rng.randint(1, 12) if late else -rng.randint(0, 6)
                done = occ.due + timedelta(days=shift)
                out.append([code, task.key, occ.period, done.isoformat(), "补报" if late else "", EVIDENCE.get(task.key, "")])
    out.sort(key=lambda r: (r[3], r[0], r[1]))
    return out


def main() -> None:
    rng = random.Random(2021)
    units = roster(rng)
    with open(HERE / "units.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["学校代码", "学校名称", "学校类型", "乡镇", "上级单位", "责任人", "联系电话", "启用日期"], *units])
    with open(HERE / "completions.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([["unit", "task", "period", "done_at", "note", "evidence"], *completions(rng, units)])


if __name__ == "__main__":
    main()
