"""Prompt ids → audio files in ivr/prompts/ (8 kHz mono WAV).

The shipped files are placeholders synthesised with espeak-ng (`python -m ivr.prompts --generate`);
an office replaces them with recorded ones of the same names. The texts below say what each must say.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent / "prompts"

# id -> text the prompt says (no IVR menu before an agent: GB/T 33358 allows a short greeting only)
PROMPTS: dict[str, str] = {
    "hotline-greeting": "您好，幺二三四五热线。",
    "voicemail-closed": "您好，这里是12345热线。现在是非工作时间，工作人员将在工作日上午九点回来。请在提示音后留言，说完后挂机即可。",
    "voicemail-busy": "您好，幺二三四五热线。现在坐席繁忙，请在提示音后留言，说完挂机即可，我们会尽快回电。",
    "voicemail-closed-today": "您好，幺二三四五热线。现在是休息时间，工作人员今天稍后回来。请在提示音后留言，说完挂机即可。",
    "voicemail-closed-tomorrow": "您好，幺二三四五热线。现在是非工作时间，工作人员明天上班后回来。请在提示音后留言，说完挂机即可。",
    "voicemail-closed-later": "您好，幺二三四五热线。现在是休息日或节假日，工作人员将在下一个工作日回来。请在提示音后留言，说完挂机即可。",
    "voicemail-thanks": "您的留言已收到，我们会尽快与您联系。再见。",
    "survey-intro": "您好，这里是12345热线回访。请对您反映问题的办理情况进行评价。满意请按1，基本满意请按2，不满意请按3。",
    "survey-invalid": "输入有误。满意请按1，基本满意请按2，不满意请按3。",
    "survey-thanks": "感谢您的评价，再见。",
    # 并号: played once to a caller who dialled a merged number (callflow config `hotlines[].notice`)
    "notice-merged-12315": "您拨打的幺二三幺五市场监管热线已并入幺二三四五热线，请稍候。",
    "notice-merged-12369": "您拨打的幺二三六九环保热线已并入幺二三四五热线，请稍候。",
    "notice-merged-line": "您拨打的号码已并入幺二三四五热线，请稍候。",
    # 排队回拨: the one offer after the configured wait in queue (callflow config `queue_callback`)
    # played as three files: queue-callback-offer, key-<the configured key>, queue-callback-offer-end
    "queue-callback-offer": "坐席仍然繁忙。如需坐席空闲时给您回电，请按",
    "queue-callback-offer-end": "键；继续等待请不要挂机。",
    **{f"key-{d}": name for d, name in zip("123456789", "一二三四五六七八九", strict=True)},
    "queue-callback-unavailable": "抱歉，暂时无法为您登记回拨，请您继续等待，坐席空闲后将为您服务。",
    "queue-callback-confirm": "好的，坐席空闲时我们会按您排队的顺序给您回电，您现在可以挂机了。",
}


def path(prompt_id: str) -> Path:
    if prompt_id not in PROMPTS:
        raise KeyError(f"unknown prompt {prompt_id!r}")
    return PROMPT_DIR / f"{prompt_id}.wav"


def generate(force: bool = False) -> list[Path]:
    """Synthesise placeholder prompts with espeak-ng + sox (8 kHz mono 16-bit)."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if not espeak or not sox:
        raise RuntimeError("espeak-ng and sox are needed to generate placeholder prompts")
    PROMPT_DIR.mkdir(parents=True, exist_ok=True)
    made = []
    for pid, text in PROMPTS.items():
        out = path(pid)
        if out.exists() and not force:
            continue
        with tempfile.TemporaryDirectory() as td:
            raw = Path(td) / "raw.wav"
            subprocess.run([espeak, "-v", "cmn", "-s", "165", "-w", str(raw), text], check=True)
            subprocess.run([sox, str(raw), "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(out)],
                           check=True)
        made.append(out)
    return made


if __name__ == "__main__":
    for p in generate(force="--force" in sys.argv):
        print(p)
