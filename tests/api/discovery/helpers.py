"""Department files for the discovery tests, written by hand."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

DISABILITY = ("身份证号", "姓名", "出生日期", "镇街", "登记日期", "残疾等级")
MEDICAL = ("身份证号", "姓名", "出生日期", "镇街", "结算日期", "个人自付金额")
UNEMPLOYMENT = ("身份证号", "姓名", "出生日期", "镇街", "登记日期")
DEATHS = ("身份证号", "姓名", "出生日期", "镇街", "登记日期", "事项")


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).isoformat()


def csv_bytes(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def upload(client, city, source: str, content: bytes, *, user: str = "supervisor_t1", name: str = "file.csv",
           skip_refused: bool = False):
    return client.post("/v1/discovery/imports", headers=city.auth(user),
                       data={"source": source, "skip_refused": str(skip_refused).lower()},
                       files={"file": (name, content, "text/csv")})
