// dtoa.cc: decimal digits of doubles (see dtoa.h).
#include <config.h>

#include <double-conversion/double-to-string.h>

#include "dtoa.h"

using double_conversion::DoubleToStringConverter;

extern "C" int
dtoa_shortest(double x, char *digits, int size, int *point)
{
	bool sign;
	int n;

	DoubleToStringConverter::DoubleToAscii(x, DoubleToStringConverter::SHORTEST, 0, digits,
	    size, &sign, &n, point);
	return n;
}
