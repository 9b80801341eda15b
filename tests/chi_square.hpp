// The chi-square survival function the sampling GPU tests turn statistics into p-values with:
// Q(a, x) = Gamma(a, x) / Gamma(a), the regularised upper incomplete gamma function, so that a
// chi-square statistic c with k degrees of freedom has p-value Q(k / 2, c / 2). Series for
// x < a + 1, Lentz's continued fraction otherwise (Numerical Recipes, 6.2), to about 1e-15
// relative. tests/test_sampling_stats_host.cpp checks it against closed forms.
#pragma once

#include <cmath>

namespace bfi_test {

inline double gamma_q(double a, double x) {
  if (x <= 0) return 1.0;
  const double gln = std::lgamma(a);
  if (x < a + 1) {  // series for P = 1 - Q
    double sum = 1.0 / a, del = sum, ap = a;
    for (int n = 0; n < 100000; ++n) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (std::fabs(del) < std::fabs(sum) * 1e-15) break;
    }
    return 1.0 - sum * std::exp(-x + a * std::log(x) - gln);
  }
  double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;  // continued fraction for Q
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (std::fabs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1) < 1e-15) break;
  }
  return std::exp(-x + a * std::log(x) - gln) * h;
}

}  // namespace bfi_test
