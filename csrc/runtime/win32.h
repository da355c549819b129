// <windows.h> as lowbit includes it: the lean subset, and without the min/max macros that would break
// std::min and std::max. Include only under _WIN32.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
