"""Lipschitz checks of the policy: certified upper bounds, sound lower bounds, and a property test."""

import functools

import torch
from hypothesis import given, settings

from controller import make_policy
from lipbound.bounds import Box
from lipbound.testing import (assert_lipschitz_at_least, assert_lipschitz_at_most, at_least, at_most, inputs,
                              parametrize_with_bounds)

OBSERVATIONS = Box(-1.0, 1.0)  # the observations the policy sees

POLICIES = {"mlp-8": make_policy(hidden=8), "mlp-16": make_policy(hidden=16)}


# one test per (model, property): test_policy_bounds[mlp-8-at_most_1], ..., [mlp-16-at_least_0.05]
@parametrize_with_bounds(POLICIES, [at_most(1.0), at_least(0.05)], input_shape=(4,), domain=OBSERVATIONS)
def test_policy_bounds(model, check):
    check(model)


def test_policy_is_certified_below_the_actuator_limit():
    # a small action change for a small observation change, certified for every observation
    assert_lipschitz_at_most(make_policy(hidden=16), 1.0, input_shape=(4,), method="lipsdp-neuron")


def test_policy_reacts_to_observations():
    # a constant policy would pass every upper bound: require a sound lower bound, found on the box
    assert_lipschitz_at_least(make_policy(hidden=16), 0.05, input_shape=(4,), domain=OBSERVATIONS)


@functools.cache
def certified_constant() -> float:
    return assert_lipschitz_at_most(make_policy(hidden=16), 1.0, input_shape=(4,)).best_upper


@settings(max_examples=10, deadline=None)
@given(x=inputs(OBSERVATIONS, shape=(4,)), y=inputs(OBSERVATIONS, shape=(4,)))
def test_actions_move_at_most_by_the_certified_constant(x, y):
    policy = make_policy(hidden=16).double()
    with torch.no_grad():
        dy = (policy(x) - policy(y)).norm()
    # float64 evaluation: rounding is far below the 1e-9 allowance
    assert dy <= certified_constant() * (x - y).norm() * (1 + 1e-9) + 1e-12
