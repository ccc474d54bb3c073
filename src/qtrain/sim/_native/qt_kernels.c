/*
 * The tile kernels, instantiated for the four dtypes from the qt_tile.inc template, and
 * their dispatch table.  With AVX-512, each instantiation first gets the vector macros of
 * its real type (16 float or 8 double lanes per register).
 */
#include "qt_kernels.h"

/* float, real */
#if QT_AVX512
#define VEC __m512
#define VW 16
#define VLOGW 4
#define VMASK_T __mmask16
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, x) _mm512_storeu_ps((p), (x))
#define VSET1(a) _mm512_set1_ps(a)
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VZERO() _mm512_setzero_ps()
#define VBLEND(k, a, b) _mm512_mask_blend_ps((k), (a), (b))
#define VSWAP(x) _mm512_permute_ps((x), 0xB1)
#define VPART0(x) _mm512_permute_ps((x), 0xB1)
#define VPART1(x) _mm512_permute_ps((x), 0x4E)
#define VPART2(x) _mm512_shuffle_f32x4((x), (x), 0xB1)
#define VPART3(x) _mm512_shuffle_f32x4((x), (x), 0x4E)
#define VMASK0 ((__mmask16)0xAAAA)
static const __mmask16 qt_mask_f32[4] = {0xAAAA, 0xCCCC, 0xF0F0, 0xFF00};
#define VMASKP(P) qt_mask_f32[P]
#endif

#define R float
#define CPX 0
#define KSUF f32r
#include "qt_tile.inc"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f32c
#include "qt_tile.inc"
#undef CPX
#undef KSUF
#undef R

#if QT_AVX512
#undef VEC
#undef VW
#undef VLOGW
#undef VMASK_T
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VMUL
#undef VFMA
#undef VZERO
#undef VBLEND
#undef VSWAP
#undef VPART0
#undef VPART1
#undef VPART2
#undef VPART3
#undef VMASK0
#undef VMASKP
#define VEC __m512d
#define VW 8
#define VLOGW 3
#define VMASK_T __mmask8
#define VLOAD(p) _mm512_loadu_pd(p)
#define VSTORE(p, x) _mm512_storeu_pd((p), (x))
#define VSET1(a) _mm512_set1_pd(a)
#define VMUL(a, b) _mm512_mul_pd((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define VZERO() _mm512_setzero_pd()
#define VBLEND(k, a, b) _mm512_mask_blend_pd((k), (a), (b))
#define VSWAP(x) _mm512_permute_pd((x), 0x55)
#define VPART0(x) _mm512_permute_pd((x), 0x55)
#define VPART1(x) _mm512_shuffle_f64x2((x), (x), 0xB1)
#define VPART2(x) _mm512_shuffle_f64x2((x), (x), 0x4E)
#define VMASK0 ((__mmask8)0xAA)
static const __mmask8 qt_mask_f64[3] = {0xAA, 0xCC, 0xF0};
#define VMASKP(P) qt_mask_f64[P]
#endif

#define R double
#define CPX 0
#define KSUF f64r
#include "qt_tile.inc"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f64c
#include "qt_tile.inc"
#undef CPX
#undef KSUF
#undef R

const qt_kernel_set qt_kernels[4] = {
    {tile_apply_f32r, tile_adj_f32r, store_cross_f32r, fctx_bytes_f32r, fprep_f32r,
     frun_apply_f32r, frun_adj_f32r, ffinal_f32r, 4, 1},
    {tile_apply_f64r, tile_adj_f64r, store_cross_f64r, fctx_bytes_f64r, fprep_f64r,
     frun_apply_f64r, frun_adj_f64r, ffinal_f64r, 8, 1},
    {tile_apply_f32c, tile_adj_f32c, store_cross_f32c, fctx_bytes_f32c, fprep_f32c,
     frun_apply_f32c, frun_adj_f32c, ffinal_f32c, 8, 2},
    {tile_apply_f64c, tile_adj_f64c, store_cross_f64c, fctx_bytes_f64c, fprep_f64c,
     frun_apply_f64c, frun_adj_f64c, ffinal_f64c, 16, 2},
};
