"""Windows: a render's whole process tree in a Job Object that dies with the worker.

Why a Job Object: Windows has no process groups that a signal reaches, and
no parent-death signal. A job whose limit is ``KILL_ON_JOB_CLOSE`` kills every
process in it when its last handle closes, and the kernel closes a process's
handles when the process ends, however it ends (TerminateProcess, a crash, the
Task Manager). The worker holds the only handle (it is created not
inheritable, so the render cannot keep it open), so the render's tree dies
with the worker. Processes a job's process starts join the job, so the whole
tree is covered, on one condition:

**The render must be in the job before it can start anything.** A render
started running and assigned afterwards can spawn a child in between, and
that child is outside the job for good. So the render is created with
``CREATE_SUSPENDED`` (its first thread has not run a single instruction),
assigned to the job, and only then resumed. When the assignment fails the
suspended process is terminated, never resumed: a render the worker cannot
take down does not run.

``subprocess`` does not give back the first thread's handle, so the process is
resumed as a whole with ``NtResumeProcess`` (ntdll), which resumes each of its
threads; the only thread of a suspended new process is that first one.

Every Win32 call goes through a :class:`Win32` adapter, one thin method per
call, so the order of the calls above is tested on any OS against a faithful
test double of the adapter (``tests/node/test_winjob.py``); :class:`Kernel32`
is the real one, used only on Windows.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

CREATE_SUSPENDED = 0x00000004
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
#: how a render is created: suspended, in its own console group, without a window
RENDER_CREATION_FLAGS = CREATE_SUSPENDED | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW

P = TypeVar("P")


class Win32(Protocol):
    """The Win32 calls a render's job needs; each raises OSError when the call fails."""

    def create_kill_on_close_job(self) -> int:
        """CreateJobObjectW (not inheritable) + SetInformationJobObject(KILL_ON_JOB_CLOSE); the job handle."""

    def assign_process(self, job: int, process: int) -> None:
        """AssignProcessToJobObject."""

    def resume_process(self, process: int) -> None:
        """NtResumeProcess."""

    def terminate_process(self, process: int) -> None:
        """TerminateProcess."""

    def terminate_job(self, job: int) -> None:
        """TerminateJobObject: every process in the job ends."""

    def close_handle(self, handle: int) -> None:
        """CloseHandle."""


class RenderJobObject:
    """The job of one render: :meth:`terminate` kills the tree now, :meth:`close` lets it go with the handle."""

    def __init__(self, win32: Win32) -> None:
        self._win32 = win32
        self.handle: int | None = win32.create_kill_on_close_job()

    def terminate(self) -> None:
        if self.handle is not None:
            self._win32.terminate_job(self.handle)

    def close(self) -> None:
        """Close the worker's handle; with it the job kills what is still in it."""
        if self.handle is not None:
            self._win32.close_handle(self.handle)
            self.handle = None


def start_in_job(spawn: Callable[[int], tuple[P, int]], win32: Win32) -> tuple[P, RenderJobObject]:
    """Start a render inside a kill-on-close job, before it can run anything.

    ``spawn(creationflags)`` creates the process (``subprocess.Popen`` with
    those flags) and returns it with its process handle.

    Raises:
        OSError: the job could not be made or the render could not be put in
            it (the render was then terminated before it ever ran).
    """
    job = RenderJobObject(win32)
    try:
        proc, handle = spawn(RENDER_CREATION_FLAGS)
    except BaseException:
        job.close()
        raise
    try:
        win32.assign_process(job.handle, handle)  # type: ignore[arg-type]
    except OSError:
        win32.terminate_process(handle)
        job.close()
        raise
    try:
        win32.resume_process(handle)
    except OSError:
        job.terminate()
        job.close()
        raise
    return proc, job


class Kernel32:
    """The real :class:`Win32`, through ctypes (Windows only)."""

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        self._ctypes: Any = ctypes
        self._k: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        self._nt: Any = ctypes.WinDLL("ntdll")  # type: ignore[attr-defined]
        self._k.CreateJobObjectW.restype = wintypes.HANDLE
        self._k.CreateJobObjectW.argtypes = (ctypes.c_void_p, wintypes.LPCWSTR)
        self._k.SetInformationJobObject.argtypes = (wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD)
        self._k.AssignProcessToJobObject.argtypes = (wintypes.HANDLE, wintypes.HANDLE)
        self._k.TerminateProcess.argtypes = (wintypes.HANDLE, wintypes.UINT)
        self._k.TerminateJobObject.argtypes = (wintypes.HANDLE, wintypes.UINT)
        self._k.CloseHandle.argtypes = (wintypes.HANDLE,)
        self._nt.NtResumeProcess.argtypes = (wintypes.HANDLE,)
        self._nt.NtResumeProcess.restype = ctypes.c_long

    def _fail(self, call: str) -> OSError:
        return OSError(self._ctypes.get_last_error(), f"{call} failed")

    def create_kill_on_close_job(self) -> int:
        ctypes = self._ctypes
        from ctypes import wintypes

        class IO_COUNTERS(ctypes.Structure):
            _fields_ = [(n, ctypes.c_ulonglong) for n in (
                "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

        class BASIC_LIMIT(ctypes.Structure):
            _fields_ = [
                ("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                ("SchedulingClass", wintypes.DWORD),
            ]

        class EXTENDED_LIMIT(ctypes.Structure):
            _fields_ = [
                ("BasicLimitInformation", BASIC_LIMIT), ("IoInfo", IO_COUNTERS),
                ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t),
            ]

        handle = self._k.CreateJobObjectW(None, None)  # no security attributes: not inheritable
        if not handle:
            raise self._fail("CreateJobObjectW")
        info = EXTENDED_LIMIT()
        info.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        if not self._k.SetInformationJobObject(handle, 9, ctypes.byref(info), ctypes.sizeof(info)):  # Extended
            error = self._fail("SetInformationJobObject")
            self._k.CloseHandle(handle)
            raise error
        return int(handle)

    def assign_process(self, job: int, process: int) -> None:
        if not self._k.AssignProcessToJobObject(job, process):
            raise self._fail("AssignProcessToJobObject")

    def resume_process(self, process: int) -> None:
        status = self._nt.NtResumeProcess(process)
        if status < 0:  # an NTSTATUS error
            raise OSError(status & 0xFFFFFFFF, "NtResumeProcess failed")

    def terminate_process(self, process: int) -> None:
        self._k.TerminateProcess(process, 1)

    def terminate_job(self, job: int) -> None:
        self._k.TerminateJobObject(job, 1)

    def close_handle(self, handle: int) -> None:
        self._k.CloseHandle(handle)
