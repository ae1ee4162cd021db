"""`qunke faq import|export|unanswered` as a manager runs them: a separate process over the bot's database."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.integration.test_cli import qunke

KB = """
- id: return_policy
  questions: [退货流程是什么, 怎么退货]
  answer: 签收后 7 天内可在订单页申请退货。
  tags: [售后]
"""


async def test_import_then_export_gives_back_the_kb_and_a_bad_file_names_its_entry_and_field(
    database_url: str, tmp_path: Path
) -> None:
    env = {"QUNKE_DATABASE_URL": database_url}
    source = tmp_path / "kb.yaml"
    source.write_text(KB, encoding="utf-8")
    imported = await qunke("faq", "import", str(source), "--json", env=env)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["added"] == ["return_policy"]

    out = tmp_path / "out.yaml"
    exported = await qunke("faq", "export", "--out", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    assert yaml.safe_load(out.read_text(encoding="utf-8")) == yaml.safe_load(KB)

    source.write_text(KB.replace("answer: 签收后", "anwser: 签收后"), encoding="utf-8")
    refused = await qunke("faq", "import", str(source), env=env)
    assert refused.returncode == 1
    assert "entry return_policy" in refused.stderr and "unknown field(s): anwser" in refused.stderr

    listed = await qunke("faq", "unanswered", "--json", env=env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    missing = await qunke("faq", "promote", "999", "--answer", "答案", env=env)
    assert missing.returncode == 1 and "999" in missing.stderr
