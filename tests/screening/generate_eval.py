"""Regenerate eval.yaml: labelled screening names (run from the repository root).

True variants are made from every name and alias of `us-ear/entity-list` by the
transformations real order data shows: case, punctuation, legal suffixes, word
order, abbreviations, a split or joined word (romanisation), Chinese legal
suffixes, one-letter typos in long words and two letters transposed in a
distinctive word. Names in their own script (Chinese, and Cyrillic written by
construction from the romanised name) are in NATIVE, written by hand. True
non-matches are written by hand in NON_MATCHES: real or plausible firms that share
a word with a listed name.

    python tests/screening/generate_eval.py
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "eval.yaml"

NON_MATCHES = [
    # shares "Hua Wei" / "Huawei"-like sounds or other listed words, but is a different firm
    "Hua Wei Foods Co., Ltd.", "Huawen Textile Co Ltd", "Huaxin Cement Co., Ltd.", "Huatai Securities",
    "Hualan Biological Engineering", "Weichai Power Co Ltd", "Huayi Brothers Media", "Hua Hong Semiconductor",
    # shares "Sense", "Moore", "Biren", "Dahua", "Sugon", "Yitu"-like tokens
    "Sense Foods Ltd", "Sensata Technologies", "Moore Industries International", "Moore Stephens LLP",
    "Biren Textiles Pvt Ltd", "Zhejiang Dahua Pharmaceutical Packaging",
    "Sugon Foods Sdn Bhd", "Yitian Logistics", "Megawide Construction", "Sophos Ltd", "Phytomed Labs",
    "Loong Air", "Loongway Cargo", "Tiandi Science Co", "Netposte SA", "FiberTech Cables GmbH",
    "CloudWave Systems Inc", "CloudMind Analytics BV", "Qihoo Games",
    "Cambridge Technology Partners", "Intellicheck Inc", "Intellisense Systems", "Nettrack Logistics",
    "Suma Foods Co", "Sumac Farms LLC", "Zhipu Tea House", "Sunway Construction Group", "Sunway University",
    "Phytium Botanicals Ltd", "Moore Threads Knitting Co", "Megvii Coffee Roasters",
    # real companies sharing "Semiconductor", "Manufacturing", "International", "National"
    "Taiwan Semiconductor Manufacturing Company", "United Microelectronics Corporation",
    "Powerchip Semiconductor Manufacturing Corp", "Samsung Electronics Co., Ltd.", "SK hynix Inc.",
    "Micron Technology Inc.", "Nanya Technology Corporation", "GlobalFoundries Inc.", "Tower Semiconductor Ltd",
    "Vanguard International Semiconductor", "ASE Technology Holding", "Amkor Technology",
    "National Instruments Corp", "National Grid plc", "National University of Singapore",
    "National Research Council Canada", "International Business Machines Corporation", "Intel Corporation",
    "Advanced Micro Devices Inc", "NVIDIA Corporation", "Broadcom Inc", "Qualcomm Incorporated",
    "Marvell Technology", "Arm Holdings plc", "Infineon Technologies AG", "STMicroelectronics NV",
    "NXP Semiconductors NV", "Renesas Electronics Corporation", "Tokyo Electron Ltd", "ASML Holding NV",
    "Applied Materials Inc", "Lam Research Corporation", "KLA Corporation",
    # Chinese and Asian firms not on the list in the notes
    "Tencent Holdings Ltd", "Alibaba Group Holding Limited", "ByteDance Ltd", "Baidu Inc", "Lenovo Group Limited",
    "Xiaomi Corporation", "BYD Company Limited", "Haier Smart Home", "Midea Group Co Ltd", "Zhejiang Geely Holding",
    "Hangzhou Wahaha Group", "Tianjin Port Holdings", "Beijing Enterprises Holdings", "Shanghai Electric Group",
    "Shenzhen Airlines", "Wuxi Biologics", "Wuxi AppTec", "Chengdu Xingrong Environment", "Hunan Valin Steel",
    "Nanjing Iron and Steel", "Xiamen Airlines", "Anhui Conch Cement", "Hefei Meiya Optoelectronic",
    "Zhejiang Supor", "Ningbo Zhoushan Port", "Beijing Capital Airport", "Shanghai Pudong Development Bank",
    "Jiangsu Hengrui Medicine", "China Merchants Bank", "Ping An Insurance", "Sinopec Corp",
    "Petronas Chemicals Group", "Genting Berhad", "Maybank", "Tenaga Nasional Berhad", "Singtel",
    "Grab Holdings", "Sea Limited", "Infosys Limited", "Tata Consultancy Services", "Reliance Industries",
    "Foxconn Industrial Internet", "Quanta Computer Inc", "Wistron Corporation", "Inventec Corporation",
    "Pegatron Corporation", "Compal Electronics", "Supermicro Computer Inc", "Dell Technologies",
    "Hewlett Packard Enterprise", "Lenovo Enterprise Solutions Sdn Bhd", "Aperia Cloud Services",
    "Example Cloud Sdn Bhd", "Gulf Data Hub LLC", "Riyadh Compute Co", "Hanoi Cloud JSC",
]

NATIVE = [
    # a company's name as it writes it in Chinese; the list gives the romanised (pinyin) form
    ("华为技术有限公司", "huawei", "CN"), ("浙江大华技术股份有限公司", "dahua", "CN"),
    ("北京智谱华章科技有限公司", "zhipu", "CN"), ("壁仞科技", "biren", "CN"), ("依图科技", "yitu", "CN"),
    # romanised names spelt letter for letter in Cyrillic
    ("Сугон", "sugon", "CN"), ("Хигон", "higon", "CN"), ("Бирен", "biren", "CN"),
]

SUFFIXES = [" Co., Ltd.", " Limited", " Inc.", " Corporation", " Group", " Holdings Ltd", " Co Ltd", " GmbH"]
ABBREV = {"Technology": "Tech", "Technologies": "Tech", "International": "Intl", "Corporation": "Corp",
          "Company": "Co", "Information": "Info", "Electronics": "Elec", "Institute": "Inst"}


GENERIC = {"technology", "technologies", "company", "limited", "corporation", "international", "information",
           "institute", "national", "semiconductor", "manufacturing", "holdings", "electronics", "intelligent",
           "integrated", "circuit", "microelectronics", "computing", "supercomputing", "center", "beijing",
           "shanghai", "nanjing", "shenzhen", "tianjin", "hangzhou", "zhengzhou", "science", "industry",
           "laboratory", "physical", "sciences", "microscale", "university", "research", "parallel",
           "computer", "engineering", "advanced", "digital", "optoelectronics", "software", "memory"}


def typo(word: str, rnd: random.Random) -> str:
    i = rnd.randrange(1, len(word) - 1)
    kind = rnd.choice(["swap", "drop", "sub"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + rnd.choice("aeiou") + word[i + 1 :]


def variants(name: str, rnd: random.Random) -> list[tuple[str, str]]:
    words = name.replace(",", "").split()
    out = [(name.upper(), "case"), (name.lower().replace(".", "").replace(",", ""), "punctuation")]
    core = " ".join(w for w in words if w.strip(".,") not in {"Co", "Ltd", "Limited", "Inc", "Corp"})
    out.append((core + rnd.choice(SUFFIXES), "legal suffix"))
    if len(words) >= 2:
        out.append((" ".join(words[1:] + words[:1]), "word order"))
    abbreviated = " ".join(ABBREV.get(w.strip(".,"), w) for w in words)
    if abbreviated != " ".join(words):
        out.append((abbreviated, "abbreviation"))
    long_words = [w for w in words if len(w) >= 7 and w.isalpha()]
    if long_words:
        w = rnd.choice(long_words)
        out.append((name.replace(w, typo(w, rnd), 1), "typo"))
    # romanisation: a distinctive word written as two syllable groups ("Hua Wei" for "Huawei")
    distinctive = [w for w in words if len(w) >= 6 and w.isalpha() and w.lower() not in GENERIC]
    if distinctive:
        w = rnd.choice(distinctive)
        mid = len(w) // 2
        out.append((name.replace(w, f"{w[:mid]} {w[mid:].lower()}", 1), "split word"))
    # two neighbouring letters swapped in the first distinctive word ("Hauwei" for "Huawei")
    swappable = [w for w in words if len(w) >= 5 and w.isalpha() and w.lower() not in GENERIC and w[1] != w[2]]
    if swappable:
        w = swappable[0]
        out.append((name.replace(w, w[0] + w[2] + w[1] + w[3:], 1), "transposed letters"))
    if any("\u4e00" <= ch <= "\u9fff" for ch in name):
        out.append((name + "技术股份有限公司", "chinese legal suffix"))
        out.append((name + "有限公司", "chinese legal suffix"))
    return out


def main() -> None:
    rnd = random.Random(20261126)
    data = yaml.safe_load((ROOT / "rulesets/us-ear/entity-list/2019-05-16.yaml").read_text(encoding="utf-8"))
    cases = []
    for p in data["parties"]:
        for n in [*p["names"], *p.get("aliases", [])]:
            for text, how in variants(n, rnd):
                if text != n:
                    cases.append({"name": text, "expect": p["id"], "how": how, "country": p.get("country")})
    for text, entry, country in NATIVE:
        cases.append({"name": text, "expect": entry, "how": "own script", "country": country})
    for n in NON_MATCHES:
        cases.append({"name": n, "expect": None, "how": "non-match"})
    seen: set[str] = set()
    unique = [c for c in cases if not (c["name"] in seen or seen.add(c["name"]))]  # type: ignore[func-returns-value]
    header = "# Generated by tests/screening/generate_eval.py; labels are by construction.\n"
    OUT.write_text(header + yaml.safe_dump({"date": "2026-01-01", "cases": unique}, allow_unicode=True,
                                           sort_keys=False, width=120), encoding="utf-8")
    print(f"{len(unique)} names written to {OUT}")


if __name__ == "__main__":
    main()
