"""The web console (staff), the public complaint form and the operations endpoints.

``create_app`` and ``serve`` live in :mod:`worker.web.app`; staff accounts in
:mod:`worker.web.auth`.
"""
