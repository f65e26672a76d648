"""Where a session panel lives: the host (:class:`~tapescan.store.SessionPanel`, or the stored bars a CPU scan
walks, :class:`~tapescan.store.session_bars.SessionBars`) or the GPU (:class:`~tapescan.gpu.panels.DevicePanel`),
and moving it to where the resolved backend runs (tapescan.analytics.drivers).

Analytics functions accept either kind. A host panel given to the GPU path is copied to the device once; a
device panel given to the CPU path is copied back. Resident device panels (tapescan.analytics.window) are
how a sweep avoids both copies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from tapescan.store.reader import SessionPanel
from tapescan.store.session_bars import SessionBars

if TYPE_CHECKING:
    from tapescan.gpu.panels import DevicePanel

AnyPanel = Union[SessionPanel, SessionBars, "DevicePanel"]


def on_host(panel: AnyPanel) -> SessionPanel:
    """The panel as host arrays [symbol x minute] (stored bars placed into one)."""
    if isinstance(panel, SessionBars):
        return panel.to_panel()
    return panel if isinstance(panel, SessionPanel) else panel.to_host()


def on_device(panel: AnyPanel) -> DevicePanel:
    """The panel as device arrays [minute x symbol] (copied once when it is on the host). Stored bars read for a
    CPU scan (without the open) have no device form: the GPU reads its sessions itself (tapescan.gpu.panels)."""
    from tapescan.gpu.panels import DevicePanel

    if isinstance(panel, SessionBars):
        raise TypeError("SessionBars are read for the CPU scan; load the session with tapescan.gpu.panels for the GPU")
    return DevicePanel.from_host(panel) if isinstance(panel, SessionPanel) else panel
