//go:build amd64 && !purego

#include "textflag.h"

// ROW adds row pointer's next weight times the eight lanes of inputs in X8
// (lanes 0-3) and X9 (lanes 4-7) to the accumulators lo and hi: the weight
// is broadcast, each product rounded (MULPS), then added (ADDPS).
#define ROW(row, lo, hi) \
	MOVSS  (row), X10; \
	SHUFPS $0, X10, X10; \
	MOVAPS X10, X11; \
	MULPS  X8, X10; \
	MULPS  X9, X11; \
	ADDPS  X10, lo; \
	ADDPS  X11, hi

// func matmulLanesSSE(oT, xT, w []float32, n, d int)
//
// For each row i of w and each of 8 lanes l:
// oT[i*8+l] = sum over j in order of w[i*n+j]*xT[j*8+l], every product
// rounded to float32 before it is added. Four rows run together, each in
// two registers of four lanes; n >= 1.
TEXT ·matmulLanesSSE(SB), NOSPLIT, $0-88
	MOVQ oT_base+0(FP), DI
	MOVQ xT_base+24(FP), SI
	MOVQ w_base+48(FP), DX
	MOVQ n+72(FP), R8
	MOVQ d+80(FP), BX
	MOVQ R8, CX
	SHLQ $2, CX // row stride in bytes

rows4:
	CMPQ  BX, $4
	JLT   rows1
	XORPS X0, X0
	XORPS X1, X1
	XORPS X2, X2
	XORPS X3, X3
	XORPS X4, X4
	XORPS X5, X5
	XORPS X6, X6
	XORPS X7, X7
	MOVQ  SI, R9
	MOVQ  DX, R10
	LEAQ  (R10)(CX*1), R11
	LEAQ  (R11)(CX*1), R12
	LEAQ  (R12)(CX*1), R13
	MOVQ  R8, AX

loop4:
	MOVUPS (R9), X8
	MOVUPS 16(R9), X9
	ROW(R10, X0, X1)
	ROW(R11, X2, X3)
	ROW(R12, X4, X5)
	ROW(R13, X6, X7)
	ADDQ   $32, R9
	ADDQ   $4, R10
	ADDQ   $4, R11
	ADDQ   $4, R12
	ADDQ   $4, R13
	DECQ   AX
	JNZ    loop4

	MOVUPS X0, (DI)
	MOVUPS X1, 16(DI)
	MOVUPS X2, 32(DI)
	MOVUPS X3, 48(DI)
	MOVUPS X4, 64(DI)
	MOVUPS X5, 80(DI)
	MOVUPS X6, 96(DI)
	MOVUPS X7, 112(DI)
	ADDQ   $128, DI
	LEAQ   (DX)(CX*4), DX
	SUBQ   $4, BX
	JMP    rows4

rows1:
	CMPQ  BX, $0
	JEQ   done
	XORPS X0, X0
	XORPS X1, X1
	MOVQ  SI, R9
	MOVQ  DX, R10
	MOVQ  R8, AX

loop1:
	MOVUPS (R9), X8
	MOVUPS 16(R9), X9
	ROW(R10, X0, X1)
	ADDQ   $32, R9
	ADDQ   $4, R10
	DECQ   AX
	JNZ    loop1

	MOVUPS X0, (DI)
	MOVUPS X1, 16(DI)
	ADDQ   $32, DI
	ADDQ   CX, DX
	DECQ   BX
	JMP    rows1

done:
	RET
