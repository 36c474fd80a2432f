"""Airflow for shoplake: the local Airflow processes, their configuration, and a small REST
client (``shoplake run batch``, ``shoplake airflow status``).

- :mod:`shoplake.orchestration.config`: the Airflow environment (home, SQLite, DAGs folder,
  users, the ``aws_default`` connection built from the settings);
- :mod:`shoplake.orchestration.components`: the processes for :func:`shoplake.stack.up`;
- :mod:`shoplake.orchestration.client`: trigger/wait/status through the REST API;
- :mod:`shoplake.orchestration.pipeline`: the work the DAG tasks do (kept out of ``dags/``
  so DAG files stay light and the logic is testable without Airflow).
"""

DAILY_DAG_ID = "shoplake_daily"
NRT_DAG_ID = "shoplake_near_real_time"
