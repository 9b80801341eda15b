// Host test of the sampling GPU tests' chi-square p-values (tests/chi_square.hpp): gamma_q
// against closed forms on both of its branches, in the bulk and far in the tail where the GPU
// tests' 1e-8 threshold sits.
#include <gtest/gtest.h>

#include <cmath>

#include "chi_square.hpp"

namespace {

using bfi_test::gamma_q;

// Q(n, x) for an integer n: exp(-x) * sum_{i < n} x^i / i!.
double q_integer(int n, double x) {
  double term = 1, sum = 0;
  for (int i = 0; i < n; ++i) {
    sum += term;
    term *= x / (i + 1);
  }
  return std::exp(-x) * sum;
}

TEST(ChiSquare, gamma_q_matches_closed_forms) {
  const double xs[] = {0.01, 0.3, 1, 2.5, 7, 20, 60, 150};
  for (double x : xs) {
    SCOPED_TRACE("x = " + std::to_string(x));
    // a = 1/2: erfc(sqrt(x)); a = 3/2: erfc(sqrt(x)) + 2 sqrt(x / pi) exp(-x).
    const double half = std::erfc(std::sqrt(x));
    EXPECT_NEAR(gamma_q(0.5, x), half, 1e-10 * half) << "Q(0.5, x)";
    const double three_halves = half + 2 * std::sqrt(x / M_PI) * std::exp(-x);
    EXPECT_NEAR(gamma_q(1.5, x), three_halves, 1e-10 * three_halves) << "Q(1.5, x)";
    for (int n : {1, 2, 5, 40, 200}) {
      const double want = q_integer(n, x);
      if (want < 1e-300) continue;
      EXPECT_NEAR(gamma_q(n, x), want, 1e-9 * want) << "Q(" << n << ", x)";
    }
  }
  EXPECT_EQ(gamma_q(3, 0), 1);
}

TEST(ChiSquare, gamma_q_gives_the_chi_square_tail_the_tests_threshold) {
  // 2 degrees of freedom: Q(1, c / 2) = exp(-c / 2), so c = -2 ln(1e-8) = 36.84 is p = 1e-8.
  const double c = -2 * std::log(1e-8);
  EXPECT_NEAR(gamma_q(1, c / 2), 1e-8, 1e-20);
  // 1000 cells (999 degrees of freedom): p falls monotonically through 1e-8 as c grows.
  double last = 1;
  for (double chi2 = 800; chi2 <= 1400; chi2 += 25) {
    const double p = gamma_q(999 / 2.0, chi2 / 2);
    EXPECT_TRUE(p > 0 && p < last) << "chi2 " << chi2 << ": p " << p << " after " << last;
    last = p;
  }
  EXPECT_LT(last, 1e-8);
  EXPECT_GT(gamma_q(999 / 2.0, 999 / 2.0), 0.4);  // the mean is near the median
}

}  // namespace
