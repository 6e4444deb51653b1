"""Realistic, made-up company profiles for `scf demo` and `scf seed`: names in Chinese and English and a unified
social credit code whose check character is computed (GB 32100-2015, api/profiles.py), so the API accepts it.

The codes are well-formed but invented: "91" (a company registered with the market regulator), a real
administrative division code of the city, nine random characters for the organisation code, the check
character."""

from __future__ import annotations

import secrets
from typing import Any

from api.profiles import USCC_ALPHABET, uscc_check_character

CITIES = {  # administrative division codes (GB/T 2260)
    "上海": ("Shanghai", "310000"),
    "深圳": ("Shenzhen", "440300"),
    "苏州": ("Suzhou", "320500"),
    "宁波": ("Ningbo", "330200"),
    "北京": ("Beijing", "110000"),
    "广州": ("Guangzhou", "440100"),
}
ORG_ALPHABET = USCC_ALPHABET[:10] + "ABCDEFGHJKLMNPQRTUWXY"


def made_up_uscc(division: str = "310000") -> str:
    """A valid code nobody registered: 91 + division + 9 random characters + the check character."""
    body = "91" + division + "".join(secrets.choice(ORG_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


# (brand in Chinese, brand in English, business in Chinese, business in English, city)
CORES = [
    ("华辰", "Huachen", "汽车集团有限公司", "Automotive Group Co., Ltd.", "上海"),
    ("远航", "Yuanhang", "重工股份有限公司", "Heavy Industries Co., Ltd.", "苏州"),
    ("鼎新", "Dingxin", "电子科技集团有限公司", "Electronics Technology Group Co., Ltd.", "深圳"),
]
SUPPLIERS = [
    ("恒通", "Hengtong", "车桥制造有限公司", "Axle Manufacturing Co., Ltd.", "宁波"),
    ("精工", "Jinggong", "轴承有限公司", "Bearing Co., Ltd.", "苏州"),
    ("瑞钢", "Ruigang", "钢球制品有限公司", "Steel Ball Products Co., Ltd.", "宁波"),
    ("联创", "Lianchuang", "精密模具有限公司", "Precision Moulds Co., Ltd.", "深圳"),
    ("宏达", "Hongda", "橡胶制品有限公司", "Rubber Products Co., Ltd.", "广州"),
    ("泰和", "Taihe", "铸造有限公司", "Foundry Co., Ltd.", "苏州"),
    ("新源", "Xinyuan", "线束科技有限公司", "Wiring Harness Technology Co., Ltd.", "上海"),
    ("博远", "Boyuan", "包装材料有限公司", "Packaging Materials Co., Ltd.", "北京"),
]
BANKS = [
    ("浦江", "Pujiang", "商业银行股份有限公司", "Commercial Bank Co., Ltd.", "上海"),
    ("南海", "Nanhai", "商业保理有限公司", "Commercial Factoring Co., Ltd.", "深圳"),
    ("京华", "Jinghua", "银行股份有限公司", "Bank Co., Ltd.", "北京"),
]
AUDITORS = [("金审", "Jinshen", "会计师事务所", "Certified Public Accountants", "北京")]


def company(entry: tuple[str, str, str, str, str], suffix: str = "") -> dict[str, Any]:
    """A profile for the API (`profile` of POST /v1/members). `suffix` (e.g. " 3F2A") tells runs and members
    apart."""
    brand_zh, brand_en, business_zh, business_en, city = entry
    city_en, division = CITIES[city]
    return {
        "legal_name_zh": f"{city}{brand_zh}{business_zh}{suffix}",
        "legal_name_en": f"{city_en} {brand_en} {business_en}{suffix}",
        "display_name": f"{brand_zh}{business_zh[:2]}{suffix}",
        "uscc": made_up_uscc(division),
    }


def for_role(role: str, index: int, suffix: str = "") -> dict[str, Any]:
    """The `index`-th company of a role's list (cycling, with a number once the list is used up)."""
    names = {"core_enterprise": CORES, "supplier": SUPPLIERS, "financier": BANKS}.get(role, AUDITORS)
    entry = names[index % len(names)]
    rounds = index // len(names)
    return company(entry, f"{suffix}{rounds + 1 if rounds else ''}")
