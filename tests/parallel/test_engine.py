"""Engine configuration: settings validation, SLURM settings -> SLURMCluster job script."""

from __future__ import annotations

import pytest

from plkg.parallel.engine import EngineSettings, session, session_client, slurm_settings

JOBQUEUE = """\
cores: 8
processes: 8
memory: 16GB
queue: short
account: plkg-lab
walltime: "02:00:00"
job_extra_directives: ["--exclusive"]
jobs: 12
"""


def test_settings_validation_and_serial_default():
    assert EngineSettings().serial and EngineSettings(workers=1).serial
    assert not EngineSettings(workers=2).serial
    assert not EngineSettings(scheduler="tcp://127.0.0.1:8786").serial
    with pytest.raises(ValueError, match="--workers must be a positive integer"):
        EngineSettings(workers=0)
    with pytest.raises(ValueError, match="not both"):
        EngineSettings(scheduler="tcp://x:1", slurm="q.yaml")
    with session(workers=1):
        assert session_client() is None  # serial: no Dask at all
    assert session_client() is None


def test_slurm_settings_build_the_job_script(tmp_path):
    path = tmp_path / "jobqueue.yaml"
    path.write_text(JOBQUEUE)
    kwargs, scale = slurm_settings(path)
    assert scale == {"jobs": 12} and kwargs["cores"] == 8 and "jobs" not in kwargs
    pytest.importorskip("dask_jobqueue")
    from plkg.parallel.engine import slurm_cluster

    cluster, scale = slurm_cluster(path)  # starts a local scheduler only; no job is submitted
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p short", "#SBATCH -A plkg-lab", "#SBATCH -t 02:00:00", "--exclusive"):
        assert line in script
    assert "--nworkers 8" in script and "--nthreads 1" in script


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cores: 4\n", "lack memory"),
        ("- 1\n", "must hold a mapping"),
        ("cores: 4\nmemory: 8GB\njobs: -1\n", "non-negative integer"),
        ("cores: 4\nmemory: 8GB\njobs: 2\nmaximum_jobs: 4\n", "not both"),
    ],
)
def test_bad_slurm_settings(tmp_path, text, message):
    path = tmp_path / "q.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        slurm_settings(path)


def test_missing_slurm_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        slurm_settings(tmp_path / "none.yaml")
