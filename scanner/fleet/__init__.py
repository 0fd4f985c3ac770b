"""Fleet scans: every account of an organisation, one unit of work per account (docs/fleet.md).

spec (the fleet file) -> discover (units, per provider) -> an executor (pool: a process pool
here; celery_app: Celery workers) runs task.run_unit / the Celery task per unit, each storing
its scan once (store) -> rollup (per account and for the fleet) -> render."""
