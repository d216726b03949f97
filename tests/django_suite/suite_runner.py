"""A DiscoverRunner that writes each test's outcome to a JSON file.

Copied next to Django's ``runtests.py`` and named by ``TEST_RUNNER``; the
path of the JSON file comes from ``FEDERATED_SUITE_RESULTS``. The tests named
in ``FEDERATED_SUITE_NOT_APPLICABLE`` (a JSON list of ids) run as expected
failures: no traceback is printed for them, and one that passes fails the run.
"""

import json
import os
import unittest

from django.test.runner import DiscoverRunner


class RecordingResult(unittest.TextTestResult):
    outcomes: dict[str, str] = {}

    def _record(self, test, outcome):
        test_id = test.id()
        # A failure of any subtest fails its test; the first bad outcome wins.
        if self.outcomes.get(test_id, "ok") == "ok":
            self.outcomes[test_id] = outcome

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failed")

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "failed")

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "not applicable")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "failed")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._record(test, "failed")


class RecordingRunner(DiscoverRunner):
    def get_resultclass(self):
        return RecordingResult

    def build_suite(self, *args, **kwargs):
        suite = super().build_suite(*args, **kwargs)
        not_applicable = set(json.loads(os.environ.get("FEDERATED_SUITE_NOT_APPLICABLE", "[]")))
        for test in _flatten(suite):
            if test.id() in not_applicable:
                # unittest reads this on the instance as on the method.
                test.__unittest_expecting_failure__ = True
        return suite

    def run_suite(self, suite, **kwargs):
        result = super().run_suite(suite, **kwargs)
        with open(os.environ["FEDERATED_SUITE_RESULTS"], "w") as f:
            json.dump(RecordingResult.outcomes, f, indent=1, sort_keys=True)
        return result


def _flatten(suite):
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _flatten(test)
        else:
            yield test
