// Scalar reference kernels: the definition every SIMD kernel is tested against.
#pragma once

#include "kernels.h"

namespace lowbit::ref {

void quantize_act(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum);
void gemm_i8(const WeightArgs& w, const ActI8& x, int64_t m, int64_t n0, int64_t n1, float* y, int64_t y_stride);
void gemm_i8_packed(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t t0, int64_t t1,
                    float* y, int64_t y_stride);
// The packed K-quant tiles (PackedArgs::kquant()); gemm_i8_packed hands them here.
void gemm_i8_packed_kquant(const PackedArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t t0,
                           int64_t t1, float* y, int64_t y_stride);
void gemm_i8_kquant(const KQuantArgs& w, const ActI8& x, const int32_t* half_sum, int64_t m, int64_t n0, int64_t n1,
                    float* y, int64_t y_stride);
void gemm_f32(const WeightArgs& w, const float* x, int64_t x_stride, int64_t m, int64_t n0, int64_t n1, float* y,
              int64_t y_stride);
void sgemm(const float* x, int64_t x_stride, const float* w, int64_t w_stride, int64_t k, int64_t m, int64_t n0,
           int64_t n1, float* y, int64_t y_stride);

extern const KernelTable kTable;

}  // namespace lowbit::ref
